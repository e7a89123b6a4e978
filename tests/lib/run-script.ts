// Runs one of the project's entry scripts as a real process and collects its output and exit code.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { root } from './chart.ts';

export type ScriptResult = { code: number; stdout: string; stderr: string };

/** `opts.root` runs the scripts of another checkout (a scratch copy) from its own directory. */
export function runScript(script: string, args: string[], env: Record<string, string | undefined> = {}, opts: { root?: string } = {}): Promise<ScriptResult> {
  const dir = opts.root ?? root;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(dir, 'scripts', script), ...args], {
      cwd: dir,
      env: { ...process.env, CI: 'true', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr });
    });
  });
}
