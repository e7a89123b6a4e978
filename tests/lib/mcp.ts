// Starts the real MCP server (app/mcp, `python -m taskflow_mcp`) on a free loopback port against a
// given database, for suites that need the third component answering: /health once it is ready.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { freePort } from '../../scripts/lib/core/net.ts';
import { ensureMcpVenv } from '../mcp/venv.ts';
import { root } from './chart.ts';
import { startServer } from './server.ts';

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
  /** Extra environment (e.g. LOG_LEVEL); the database, port and secret are set from the options above. */
  env?: Record<string, string>;
};

/** Starts `python -m taskflow_mcp` and resolves once /health answers 200 (503 until the backend has created the tables). */
export async function startMcp(databaseUrl: string, { secret = randomBytes(36).toString('base64url'), port: wanted, env = {} }: McpOptions = {}): Promise<RunningMcp> {
  const python = await ensureMcpVenv();
  const port = wanted ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const server = await startServer({
    name: 'the MCP server',
    command: python,
    args: ['-m', 'taskflow_mcp'],
    cwd: join(root, 'app', 'mcp'),
    env: { ...process.env, ...env, PYTHONDONTWRITEBYTECODE: '1', HOST: '127.0.0.1', PORT: String(port), DATABASE_URL: databaseUrl, MCP_SHARED_SECRET: secret },
    healthUrl: `${url}/health`,
  });
  return { url, secret, stop: server.stop };
}
