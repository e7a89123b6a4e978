// Starts the real MCP server (app/mcp, `python -m taskflow_mcp`) on a free loopback port against a
// given database, for suites that need the third component answering: /health once it is ready.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { ensureMcpVenv } from '../mcp/venv.ts';
import { root } from './chart.ts';
import { freePort } from './docker.ts';

export type RunningMcp = {
  /** http://127.0.0.1:PORT; the MCP endpoint itself is `${url}/mcp`. */
  url: string;
  /** The MCP_SHARED_SECRET it verifies identity tokens with: give the backend the same one. */
  secret: string;
  stop(): Promise<void>;
};

export type McpOptions = {
  /** Defaults to a random one; pass the backend's MCP_SHARED_SECRET to let it call the tools. */
  secret?: string;
  /** Chosen ahead when the backend must be told MCP_URL before this server can be ready (it waits for their tables). */
  port?: number;
};

export async function startMcp(databaseUrl: string, { secret = randomBytes(36).toString('base64url'), port: wanted }: McpOptions = {}): Promise<RunningMcp> {
  const python = await ensureMcpVenv();
  const port = wanted ?? (await freePort());
  const child = spawn(python, ['-m', 'taskflow_mcp'], {
    cwd: join(root, 'app', 'mcp'),
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', HOST: '127.0.0.1', PORT: String(port), DATABASE_URL: databaseUrl, MCP_SHARED_SECRET: secret },
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
    const health = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) }).then(
      async (r) => ({ ok: r.status === 200, said: `HTTP ${r.status} ${await r.text()}` }),
      (err: Error) => ({ ok: false, said: err.message }),
    );
    if (health.ok) return { url, secret, stop };
    if (Date.now() > deadline) {
      await stop();
      // /health is 503 until the backend has created the tables; its last answer says which case this is.
      throw new Error(`the MCP server was not healthy within 60 s (last: ${health.said}):\n${recent.join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
