// A Python app's venv for the tests: .cache/venv-<name>, built from the app's requirements-dev.txt
// with the local package index, rebuilt only when its requirements or the interpreter change, and
// serialised between processes (two test runs started together).
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../../scripts/lib/core/wait.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** A requirements file and every file it pulls in with `-r` (another app's pins count too), each once. */
function requirementFiles(file: string, seen: Set<string> = new Set()): string[] {
  if (seen.has(file)) return [];
  seen.add(file);
  const included = readFileSync(file, 'utf8')
    .split('\n')
    .map((line) => /^\s*-r\s+(\S+)/.exec(line)?.[1])
    .filter((path): path is string => path !== undefined)
    .flatMap((path) => requirementFiles(resolve(dirname(file), path), seen));
  return [file, ...included];
}

/** What the venv was built from: the requirement files (with what they include) and the interpreter that made it. */
function wantedStamp(python: string, appDir: string): string {
  const version = spawnSync(python, ['-c', 'import sys; print(sys.version)'], { encoding: 'utf8' });
  if (version.status !== 0) throw new Error(`${python} not usable: ${version.stderr || version.error?.message}`);
  const hash = createHash('sha256');
  for (const file of requirementFiles(join(appDir, 'requirements-dev.txt'))) hash.update(readFileSync(file));
  hash.update(version.stdout);
  return hash.digest('hex');
}

function runLogged(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.on('error', (err) => reject(new Error(`${cmd}: ${err.message}`)));
    child.on('close', (code) => {
      if (code === 0) resolve();
      // pip's own output says which package or pin failed; only shown when it did.
      else reject(new Error(`${cmd} ${args.join(' ')} failed (exit ${code}):\n${output.trim().split('\n').slice(-40).join('\n')}`));
    });
  });
}

async function withLock<T>(lockDir: string, fn: () => Promise<T>): Promise<T> {
  mkdirSync(join(root, '.cache'), { recursive: true });
  const taken = () => {
    try {
      mkdirSync(lockDir);
      return true;
    } catch {
      // A lock older than any install can take was left by a killed process.
      try {
        if (Date.now() - statSync(lockDir).mtimeMs > 15 * 60_000) rmSync(lockDir, { recursive: true, force: true });
      } catch {
        // gone meanwhile: take it on the next turn
      }
      return false;
    }
  };
  await waitFor(taken, { timeout: 20 * 60_000, interval: 500, describe: `the lock ${lockDir}`, onTimeout: () => new Error(`timed out waiting for ${lockDir}`) });
  try {
    return await fn();
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
}

/** Creates (or reuses) .cache/venv-<name> with <appDir>/requirements-dev.txt installed; returns its python. */
export async function ensureVenv(name: string, appDir: string): Promise<string> {
  const venvDir = join(root, '.cache', `venv-${name}`);
  const stampFile = join(venvDir, '.requirements.sha256');
  const venvPython = join(venvDir, 'bin', 'python');
  const stamp = wantedStamp('python3', appDir);
  const fresh = () => existsSync(venvPython) && existsSync(stampFile) && readFileSync(stampFile, 'utf8').trim() === stamp;
  if (fresh()) return venvPython;
  return withLock(join(root, '.cache', `venv-${name}.lock`), async () => {
    if (fresh()) return venvPython;
    const started = Date.now();
    process.stderr.write(`[${name}-venv] creating ${venvDir} (requirements changed or first run)\n`);
    rmSync(venvDir, { recursive: true, force: true });
    await runLogged('python3', ['-m', 'venv', venvDir]);
    // One retry only: where the default index can't be reached, pip's five backed-off retries cost
    // seconds per package, and the packages come from the configured local index anyway.
    await runLogged(venvPython, ['-m', 'pip', 'install', '--disable-pip-version-check', '--retries', '1', '-q', '-r', join(appDir, 'requirements-dev.txt')]);
    writeFileSync(stampFile, `${stamp}\n`);
    process.stderr.write(`[${name}-venv] venv ready in ${((Date.now() - started) / 1000).toFixed(1)}s\n`);
    return venvPython;
  });
}

/**
 * A uvu-free test file that runs one Python app's pytest suite against a throwaway PostgreSQL and
 * exits with pytest's code; pytest's own summary line is what the runner reads.
 */
export async function runPytestSuite(name: string, ensure: () => Promise<string>, testsDir: string): Promise<number> {
  const { startPostgres } = await import('./postgres.ts');
  let started = Date.now();
  const python = await ensure();
  console.log(`${name} venv ready (${((Date.now() - started) / 1000).toFixed(1)}s)`);
  started = Date.now();
  const pg = await startPostgres();
  console.log(`postgres up on 127.0.0.1:${pg.port} (${((Date.now() - started) / 1000).toFixed(1)}s)`);
  try {
    const code = await new Promise<number>((resolve, reject) => {
      // Default verbosity, not -q: only then does pytest frame its summary as "==== N passed in Xs ====",
      // the form the runner reads. --color=no because the runner's FORCE_COLOR=0 reads as "force" to pytest.
      const child = spawn(python, ['-m', 'pytest', testsDir, '--color=no'], {
        cwd: root,
        // Inherited, so the runner sees pytest's "N passed" line as it is printed.
        stdio: ['ignore', 'inherit', 'inherit'],
        env: { ...process.env, DATABASE_URL: pg.url, PYTHONDONTWRITEBYTECODE: '1' },
      });
      child.on('error', reject);
      child.on('close', (c, signal) => resolve(c ?? (signal ? 1 : 0)));
    });
    // Exit 5 means pytest collected nothing: a suite that vanished must not pass.
    if (code === 5) console.error('pytest collected no tests');
    return code;
  } finally {
    await pg.stop();
  }
}

/** Ends a pytest-suite file with the suite's exit code. */
export function exitWith(run: Promise<number>): void {
  run.then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
