// Provides the backend's Python venv (cached under .cache/) and runs the FastAPI backend as a local process.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../scripts/lib/core/net.ts';
import { startServer } from './server.ts';
import { ensureVenv } from './venv.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
export const backendDir = join(root, 'app', 'backend');

/** Creates (or reuses) .cache/venv-backend with app/backend/requirements-dev.txt installed; returns its python. */
export const ensureBackendVenv = (): Promise<string> => ensureVenv('backend', backendDir);

export type BackendOptions = {
  databaseUrl: string;
  port?: number;
  /** Extra environment for the backend; wins over the defaults (BETTER_AUTH_SECRET included). */
  env?: Record<string, string>;
  /** Another ASGI app to serve the same way (`module:attribute`), e.g. a bench's reference app; it must answer GET /health. */
  app?: { target: string; dir: string };
  /** Receives each line the backend logs; by default they go to stderr prefixed with [backend]. */
  onLog?: (line: string) => void;
};

export type Backend = {
  /** http://127.0.0.1:PORT (the API itself lives under API_PREFIX, /api/v1 by default). */
  url: string;
  port: number;
  /** The BETTER_AUTH_SECRET the backend signs tokens with. */
  secret: string;
  stop(): Promise<void>;
};

/** Runs `uvicorn app.main:app` (or `options.app`) on 127.0.0.1 and resolves once GET /health answers 200. */
export async function startBackend(options: BackendOptions): Promise<Backend> {
  const python = await ensureBackendVenv();
  const port = options.port ?? (await freePort());
  const secret = options.env?.BETTER_AUTH_SECRET ?? randomBytes(36).toString('base64url');
  const target = options.app ? [options.app.target, '--app-dir', options.app.dir] : ['app.main:app'];
  const url = `http://127.0.0.1:${port}`;
  const server = await startServer({
    name: 'the backend',
    command: python,
    args: ['-m', 'uvicorn', ...target, '--host', '127.0.0.1', '--port', String(port)],
    cwd: backendDir,
    env: {
      ...process.env,
      PYTHONUNBUFFERED: '1',
      PYTHONDONTWRITEBYTECODE: '1',
      DATABASE_URL: options.databaseUrl,
      BETTER_AUTH_SECRET: secret,
      LOG_LEVEL: 'INFO',
      ...options.env,
    },
    healthUrl: `${url}/health`,
    // uvicorn finishes in-flight requests and runs the lifespan shutdown; give it a moment.
    stopGraceMs: 15_000,
    onLine: options.onLog ?? ((line: string) => process.stderr.write(`[backend] ${line}\n`)),
  });
  return { url, port, secret, stop: server.stop };
}
