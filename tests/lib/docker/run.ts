// The Docker client as the image tests and benchmark call it: Debian's binary, an argument array, the output collected.
import { spawn, spawnSync } from 'node:child_process';

/**
 * Debian's client, never /usr/local/bin/docker: the engine here is Debian's docker.io, and a
 * newer client from elsewhere may speak an API version that engine refuses.
 */
export const DOCKER = process.env.TASKFLOW_TEST_DOCKER ?? '/usr/bin/docker';

/** Every build and container uses the host network: the engine runs with bridges switched off. */
const dockerEnv = { ...process.env, DOCKER_BUILDKIT: '1' };

export type RunResult = { code: number; stdout: string; stderr: string };

/** Runs a command to completion and collects its output; input, if given, goes to stdin. */
export function run(cmd: string, args: readonly string[], opts: { input?: string | NodeJS.ReadableStream; cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? dockerEnv, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = opts.timeoutMs
      ? setTimeout(() => {
          stderr += `\n(killed after ${opts.timeoutMs} ms)`;
          child.kill('SIGKILL');
        }, opts.timeoutMs)
      : undefined;
    child.on('error', (err) => {
      if (timer) clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolvePromise({ code: code ?? (signal ? 1 : 0), stdout, stderr });
    });
    if (typeof opts.input === 'string') child.stdin.end(opts.input);
    else if (opts.input) opts.input.pipe(child.stdin);
    else child.stdin.end();
  });
}

/** Runs docker with the given arguments; throws with the output's tail when it fails. */
export async function docker(args: readonly string[], opts: { input?: string | NodeJS.ReadableStream; timeoutMs?: number; cwd?: string } = {}): Promise<string> {
  const r = await run(DOCKER, args, opts);
  if (r.code !== 0) {
    const tail = `${r.stdout}\n${r.stderr}`.trim().split('\n').slice(-40).join('\n');
    throw new Error(`docker ${args.slice(0, 3).join(' ')} … failed (exit ${r.code}):\n${tail}`);
  }
  return r.stdout.trim();
}

/** Where a command is on PATH, if it is. */
export function which(cmd: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}
