// Provides the backend's Python venv (cached under .cache/) and runs the FastAPI backend as a local process.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './postgres.ts';
import { ensureVenv } from './venv.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
export const backendDir = join(root, 'app', 'backend');
const HEALTH_DEADLINE_MS = 60_000;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

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

function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** Runs `uvicorn app.main:app` (or `options.app`) on 127.0.0.1 and resolves once GET /health answers 200. */
export async function startBackend(options: BackendOptions): Promise<Backend> {
  const python = await ensureBackendVenv();
  const port = options.port ?? (await freePort());
  const secret = options.env?.BETTER_AUTH_SECRET ?? randomBytes(36).toString('base64url');
  const onLog = options.onLog ?? ((line: string) => process.stderr.write(`[backend] ${line}\n`));
  const target = options.app ? [options.app.target, '--app-dir', options.app.dir] : ['app.main:app'];
  const child = spawn(python, ['-m', 'uvicorn', ...target, '--host', '127.0.0.1', '--port', String(port)], {
    cwd: backendDir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      PYTHONUNBUFFERED: '1',
      PYTHONDONTWRITEBYTECODE: '1',
      DATABASE_URL: options.databaseUrl,
      BETTER_AUTH_SECRET: secret,
      LOG_LEVEL: 'INFO',
      ...options.env,
    },
  });
  const recent: string[] = [];
  const pump = (stream: NodeJS.ReadableStream) => {
    let buffered = '';
    stream.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        recent.push(line);
        if (recent.length > 40) recent.shift();
        onLog(line);
      }
    });
  };
  pump(child.stdout!);
  pump(child.stderr!);
  // A test that dies must not leave the server behind.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const url = `http://127.0.0.1:${port}`;
  let exited: string | undefined;
  child.once('exit', (code, signal) => (exited = signal ?? `exit ${code}`));
  child.once('error', (err) => (exited = err.message));

  const deadline = Date.now() + HEALTH_DEADLINE_MS;
  let last = 'no answer';
  for (;;) {
    if (exited !== undefined) {
      process.removeListener('exit', killOnExit);
      throw new Error(`backend exited before it was healthy (${exited}):\n${recent.join('\n')}`);
    }
    try {
      const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) });
      if (res.status === 200) break;
      last = `HTTP ${res.status} ${await res.text()}`;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      await waitForExit(child, 5000);
      process.removeListener('exit', killOnExit);
      throw new Error(`backend not healthy after ${HEALTH_DEADLINE_MS / 1000}s (last: ${last}):\n${recent.join('\n')}`);
    }
    await sleep(250);
  }

  let stopping: Promise<void> | undefined;
  return {
    url,
    port,
    secret,
    stop() {
      stopping ??= (async () => {
        child.kill('SIGTERM');
        // uvicorn finishes in-flight requests and runs the lifespan shutdown; give it a moment.
        if (!(await waitForExit(child, 15_000))) {
          child.kill('SIGKILL');
          await waitForExit(child, 5000);
        }
        process.removeListener('exit', killOnExit);
      })();
      return stopping;
    },
  };
}
