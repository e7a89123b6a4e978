// Provides the MCP server's Python venv (cached under .cache/venv-mcp), built from the local package index like the backend's.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
export const mcpDir = join(root, 'app', 'mcp');
const venvDir = join(root, '.cache', 'venv-mcp');
const stampFile = join(venvDir, '.requirements.sha256');
const lockDir = join(root, '.cache', 'venv-mcp.lock');

function log(message: string): void {
  process.stderr.write(`[mcp-venv] ${message}\n`);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** What the venv was built from: both requirement files and the interpreter that made it. */
function wantedStamp(python: string): string {
  const version = spawnSync(python, ['-c', 'import sys; print(sys.version)'], { encoding: 'utf8' });
  if (version.status !== 0) throw new Error(`${python} not usable: ${version.stderr || version.error?.message}`);
  const hash = createHash('sha256');
  for (const file of ['requirements.txt', 'requirements-dev.txt']) hash.update(readFileSync(join(mcpDir, file)));
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

/** Serialises venv builds between processes (two test runs started together). */
async function withLock<T>(fn: () => Promise<T>): Promise<T> {
  mkdirSync(join(root, '.cache'), { recursive: true });
  const started = Date.now();
  for (;;) {
    try {
      mkdirSync(lockDir);
      break;
    } catch {
      // A lock older than any install can take was left by a killed process.
      try {
        if (Date.now() - statSync(lockDir).mtimeMs > 15 * 60_000) rmSync(lockDir, { recursive: true, force: true });
      } catch {
        // gone meanwhile: take it on the next turn
      }
      if (Date.now() - started > 20 * 60_000) throw new Error(`timed out waiting for ${lockDir}`);
      await sleep(500);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
}

/** Creates (or reuses) .cache/venv-mcp with app/mcp/requirements-dev.txt installed; returns its python. */
export async function ensureMcpVenv(): Promise<string> {
  const venvPython = join(venvDir, 'bin', 'python');
  const stamp = wantedStamp('python3');
  const fresh = () => existsSync(venvPython) && existsSync(stampFile) && readFileSync(stampFile, 'utf8').trim() === stamp;
  if (fresh()) return venvPython;
  return withLock(async () => {
    if (fresh()) return venvPython;
    const started = Date.now();
    log(`creating ${venvDir} (requirements changed or first run)`);
    rmSync(venvDir, { recursive: true, force: true });
    await runLogged('python3', ['-m', 'venv', venvDir]);
    // One retry only: where the default index can't be reached, pip's five backed-off retries cost
    // seconds per package, and the packages come from the configured local index anyway.
    await runLogged(venvPython, ['-m', 'pip', 'install', '--disable-pip-version-check', '--retries', '1', '-q', '-r', join(mcpDir, 'requirements-dev.txt')]);
    writeFileSync(stampFile, `${stamp}\n`);
    log(`venv ready in ${((Date.now() - started) / 1000).toFixed(1)}s`);
    return venvPython;
  });
}
