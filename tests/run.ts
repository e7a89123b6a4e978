// The one test command: runs every tests/**/*.test.ts file in its own process and ends with
// a plain "N passed, N failed" line. uvu files print uvu's totals; a file that wraps another
// runner (pytest) prints that runner's summary line, which is parsed the same way.
//
// Usage: tsx tests/run.ts [substring ...]   run only the files whose path contains a substring
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { delimiter, dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultSpec, provision, removePartials } from './lib/tool-versions.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const testsDir = join(root, 'tests');
// A whole file gets this long; the image suite is the slowest (base images, builds, browser).
const FILE_TIMEOUT_MS = 40 * 60_000;

export type Counts = { passed: number; failed: number; skipped: number };

/** Reads the totals a test file printed: uvu's "Total/Passed/Skipped" block or pytest's summary. */
export function parseCounts(output: string): Counts | undefined {
  const text = output.replace(/\x1b\[[0-9;]*m/g, '');
  const total = /Total:\s+(\d+)/.exec(text);
  const passed = /Passed:\s+(\d+)/.exec(text);
  if (total && passed) {
    const skipped = Number(/Skipped:\s+(\d+)/.exec(text)?.[1] ?? 0);
    const t = Number(total[1]);
    const p = Number(passed[1]);
    return { passed: p, failed: Math.max(0, t - p - skipped), skipped };
  }
  // pytest: "==== 3 failed, 40 passed, 2 skipped in 5.1s ====" (the last such line wins)
  const lines = text.split('\n').filter((l) => /^=+ .*\bin [\d.]+s/.test(l.trim()));
  const last = lines.at(-1);
  if (last) {
    const n = (word: string) => Number(new RegExp(`(\\d+) ${word}`).exec(last)?.[1] ?? 0);
    return { passed: n('passed'), failed: n('failed') + n('error'), skipped: n('skipped') };
  }
  return undefined;
}

function findTestFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (name === 'node_modules' || name === 'fixtures') continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...findTestFiles(path));
    else if (name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

function runFile(file: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, FORCE_COLOR: '0' },
    });
    let output = '';
    const onData = (stream: NodeJS.WriteStream) => (chunk: Buffer) => {
      output += chunk.toString();
      stream.write(chunk);
    };
    child.stdout.on('data', onData(process.stdout));
    child.stderr.on('data', onData(process.stderr));
    const timer = setTimeout(() => {
      output += `\n${relative(root, file)}: timed out after ${FILE_TIMEOUT_MS / 60_000} min\n`;
      child.kill('SIGTERM');
    }, FILE_TIMEOUT_MS);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 1 : 0), output });
    });
  });
}

async function main(): Promise<number> {
  const filters = process.argv.slice(2);
  const files = findTestFiles(testsDir).filter(
    (f) => filters.length === 0 || filters.some((s) => relative(root, f).split(sep).join('/').includes(s)),
  );
  if (files.length === 0) {
    console.error(`no test file matches ${filters.join(', ')}`);
    return 2;
  }
  // Every suite runs the same pinned helm, whatever the machine has: first on PATH for the scripts
  // the tests start (they run `helm` as users do), and as HELM_BIN for the test code itself.
  removePartials();
  const tools = await provision(defaultSpec);
  process.env.HELM_BIN = tools.helm;
  process.env.PATH = `${dirname(tools.helm)}${delimiter}${process.env.PATH ?? ''}`;
  console.log(`helm ${defaultSpec.helm} (${relative(root, tools.helm)})`);

  const total: Counts = { passed: 0, failed: 0, skipped: 0 };
  const rows: string[] = [];
  // The failing tests by name, repeated at the very end: CI shows only the last lines of the output.
  const failures: string[] = [];
  for (const file of files) {
    const name = relative(root, file).split(sep).join('/');
    console.log(`\n▶ ${name}`);
    const started = Date.now();
    const { code, output } = await runFile(file);
    const counts = parseCounts(output) ?? { passed: 0, failed: 0, skipped: 0 };
    // A file that crashed or exited non-zero with no failure counted is one failure.
    if (code !== 0 && counts.failed === 0) counts.failed = 1;
    total.passed += counts.passed;
    total.failed += counts.failed;
    total.skipped += counts.skipped;
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    rows.push(`${counts.failed ? '✖' : '✔'} ${name}: ${counts.passed} passed, ${counts.failed} failed (${secs}s)`);
    if (counts.failed) failures.push(...failedTests(name, output, code));
  }
  console.log(`\n${rows.join('\n')}\n`);
  if (failures.length) console.log(`Failed:\n${failures.slice(0, 40).join('\n')}${failures.length > 40 ? `\n  … ${failures.length - 40} more` : ''}\n`);
  const skipped = total.skipped ? `, ${total.skipped} skipped` : '';
  console.log(`${total.passed} passed, ${total.failed} failed${skipped}`);
  return total.failed === 0 ? 0 : 1;
}

/** Names of the failed tests in a file's output (uvu's FAIL lines, pytest's FAILED/ERROR lines), each with its first error line. */
export function failedTests(file: string, output: string, code: number): string[] {
  const lines = output.split('\n');
  const out: string[] = [];
  lines.forEach((line, i) => {
    const uvu = /^\s*FAIL\s+(.*)$/.exec(line);
    const py = /^(FAILED|ERROR) (\S+)(?: - (.*))?$/.exec(line);
    if (uvu) {
      const why = lines.slice(i + 1, i + 4).map((l) => l.trim()).find((l) => l && !l.startsWith('at ')) ?? '';
      out.push(`  ${file}: ${uvu[1]?.trim()}${why ? ` — ${why.slice(0, 160)}` : ''}`);
    } else if (py) out.push(`  ${file}: ${py[2]}${py[3] ? ` — ${py[3].slice(0, 160)}` : ''}`);
  });
  if (out.length === 0) out.push(`  ${file}: exit ${code}; last lines: ${lines.filter((l) => l.trim()).slice(-3).join(' | ').slice(0, 300)}`);
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
