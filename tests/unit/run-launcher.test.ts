// scripts/run.mjs, where `npm run <command>` and make's targets start: each command runs from a
// bundle of its sources, rebuilt whenever a source is newer, and a failed build says where.
// Each test works on a scratch copy of scripts/ (the rest of the project linked in), so the
// project's own sources and bundles are never touched.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

const root = fileURLToPath(new URL('../../', import.meta.url));
const COMMANDS = ['setup', 'dev', 'port-forward', 'logs', 'scale', 'status', 'rollback', 'validate', 'render', 'cleanup'];
const Launcher = suite('run.mjs');

function scratchProject(): string {
  const dir = mkdtempSync(join(tmpdir(), 'taskflow-launcher-'));
  cpSync(join(root, 'scripts'), join(dir, 'scripts'), { recursive: true });
  for (const f of ['package.json', 'package-lock.json']) cpSync(join(root, f), join(dir, f));
  for (const d of ['node_modules', 'helm', 'env', 'app', 'docker']) if (existsSync(join(root, d))) symlinkSync(join(root, d), join(dir, d));
  return dir;
}

const run = (dir: string, args: string[]) => spawnSync(process.execPath, [join(dir, 'scripts', 'run.mjs'), ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
const bundleOf = (dir: string, command: string) => join(dir, '.cache', 'commands', `${command}.js`);

let dir = '';
Launcher.before(() => {
  dir = scratchProject();
});
Launcher.after(() => rmSync(dir, { recursive: true, force: true }));

Launcher('a fresh checkout builds the bundles on the first run, then every command starts from its own and answers --help', () => {
  assert.not.ok(existsSync(bundleOf(dir, 'validate')));
  for (const command of COMMANDS) {
    const r = run(dir, [command, '--help']);
    assert.is(r.status, 0, `${command} --help: ${r.stderr}`);
    assert.match(r.stdout, /Usage:/, command);
    assert.ok(existsSync(bundleOf(dir, command)), `${command}'s bundle`);
  }
});

Launcher('a second run reuses the bundles; an edited source is rebuilt before the command runs', () => {
  run(dir, ['validate', '--help']);
  const built = statSync(bundleOf(dir, 'validate')).mtimeMs;
  assert.is(run(dir, ['validate', '--help']).status, 0);
  assert.is(statSync(bundleOf(dir, 'validate')).mtimeMs, built, 'nothing changed, so nothing is rebuilt');

  const source = join(dir, 'scripts', 'validate.ts');
  writeFileSync(source, readFileSync(source, 'utf8').replace('Usage: validate', 'Usage (edited): validate'));
  const later = new Date(built + 5_000);
  utimesSync(source, later, later);
  const r = run(dir, ['validate', '--help']);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /Usage \(edited\): validate/);
});

Launcher('a source that does not compile: exit 1, the file and line named, no stack trace, the previous bundles kept', () => {
  run(dir, ['status', '--help']);
  const before = readFileSync(bundleOf(dir, 'status'), 'utf8');
  const broken = join(dir, 'scripts', 'lib', 'core', 'ui.ts');
  const text = readFileSync(broken, 'utf8');
  try {
    writeFileSync(broken, `${text}\nexport const = ;\n`);
    const r = run(dir, ['status', '--help']);
    assert.is(r.status, 1);
    assert.match(r.stderr, /could not build the status command/);
    assert.match(r.stderr, /scripts\/lib\/core\/ui\.ts:\d+:/);
    assert.match(r.stderr, /npx tsx scripts\/status\.ts/);
    assert.not.match(r.stderr, /\n\s+at /, 'no stack trace');
    assert.is(readFileSync(bundleOf(dir, 'status'), 'utf8'), before);
    assert.not.ok(existsSync(join(dir, '.cache', `commands.${r.pid}`)), 'no build directory left behind');
  } finally {
    writeFileSync(broken, text);
  }
});

Launcher('an unknown or missing command is refused with exit 2 and the list of commands', () => {
  for (const args of [['nope'], []]) {
    const r = run(dir, args);
    assert.is(r.status, 2);
    assert.match(r.stderr, /One of: setup, dev, port-forward/);
  }
});

Launcher('validate --static from its bundle finds the chart and gives the same checks as from the sources', () => {
  const fromBundle = run(dir, ['validate', '--static', '--json']);
  const fromSources = spawnSync(process.execPath, ['--import', 'tsx', join(dir, 'scripts', 'validate.ts'), '--static', '--json'], { cwd: dir, encoding: 'utf8' });
  assert.is(fromBundle.status, 0, fromBundle.stdout + fromBundle.stderr);
  assert.is(fromSources.status, 0, fromSources.stdout + fromSources.stderr);
  const checks = (out: string) => (JSON.parse(out.slice(out.indexOf('{\n'))) as { checks: { name: string; ok: boolean; details?: string[] }[] }).checks.map((c) => `${c.name} ${c.ok} ${(c.details ?? []).join('|')}`);
  assert.equal(checks(fromBundle.stdout), checks(fromSources.stdout));
  assert.ok(checks(fromBundle.stdout).length > 10);
});

Launcher.run();
