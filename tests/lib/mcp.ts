// Starts the real MCP server (app/mcp, `python -m taskflow_mcp`) on a free loopback port against a
// given database, for suites that need the third component answering: /health once it is ready.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { ensureMcpVenv } from '../mcp/venv.ts';
import { root } from './chart.ts';
import { freePort } from './docker.ts';

export type RunningMcp = { url: string; stop(): Promise<void> };

export async function startMcp(databaseUrl: string): Promise<RunningMcp> {
  const python = await ensureMcpVenv();
  const port = await freePort();
  const child = spawn(python, ['-m', 'taskflow_mcp'], {
    cwd: join(root, 'app', 'mcp'),
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', HOST: '127.0.0.1', PORT: String(port), DATABASE_URL: databaseUrl, MCP_SHARED_SECRET: randomBytes(36).toString('base64url') },
  });
  const recent: string[] = [];
  for (const s of [child.stdout, child.stderr]) {
    s?.on('data', (b: Buffer) => {
      recent.push(...b.toString().split('\n').filter(Boolean));
      recent.splice(0, Math.max(0, recent.length - 30));
    });
  }
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  let exited: string | undefined;
  child.once('exit', (code, signal) => (exited = signal ?? `exit ${code}`));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    process.removeListener('exit', killOnExit);
    if (exited !== undefined) return;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    await Promise.race([gone, new Promise((r) => setTimeout(r, 10_000))]);
    if (exited === undefined) child.kill('SIGKILL');
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited !== undefined) throw new Error(`the MCP server exited before it was healthy (${exited}):\n${recent.join('\n')}`);
    const ok = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) }).then((r) => r.status === 200, () => false);
    if (ok) return { url, stop };
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the MCP server was not healthy within 60 s:\n${recent.join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
