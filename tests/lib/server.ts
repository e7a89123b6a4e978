// A test server as a child process (the backend, the frontend, the MCP server): ready once its
// health URL answers 200, a failure when it exits first or misses the deadline, stopped with
// SIGTERM and then SIGKILL, and killed with the test process if that dies first.
import { spawn, type ChildProcess } from 'node:child_process';
import { GiveUp, until } from './wait.ts';

export type ServerOptions = {
  /** Names the server in errors ("the backend"). */
  name: string;
  command: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Polled until it answers 200. */
  healthUrl: string;
  /** How long it may take to turn healthy (default 60 s). */
  healthTimeoutMs?: number;
  /** How long SIGTERM has before SIGKILL (default 10 s). */
  stopGraceMs?: number;
  /** Receives each line the server writes; the last 40 are also kept for a failure's message. */
  onLine?: (line: string) => void;
};

export type RunningServer = {
  child: ChildProcess;
  /** Stops the server once; later calls wait for the same stop. */
  stop(): Promise<void>;
};

const KEPT_LINES = 40;

/** Starts the server and resolves once it is healthy; on failure it is stopped and the error carries its last lines. */
export async function startServer(o: ServerOptions): Promise<RunningServer> {
  const child = spawn(o.command, o.args, { cwd: o.cwd, env: o.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const recent: string[] = [];
  const pump = (stream: NodeJS.ReadableStream | null) => {
    let buffered = '';
    stream?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        recent.push(line);
        if (recent.length > KEPT_LINES) recent.shift();
        o.onLine?.(line);
      }
    });
  };
  pump(child.stdout);
  pump(child.stderr);
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  let ended: string | undefined;
  const gone = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => resolve(void (ended ??= signal ?? `exit ${code}`)));
    // 'error' without 'exit' when the program cannot be started; listened to for good, so a late one cannot crash the test.
    child.on('error', (err) => resolve(void (ended ??= err.message)));
  });
  const goneWithin = (ms: number) => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
    return Promise.race([gone.then(() => true), late]).finally(() => clearTimeout(timer));
  };
  const grace = o.stopGraceMs ?? 10_000;
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      if (ended === undefined) {
        child.kill('SIGTERM');
        if (!(await goneWithin(grace))) {
          child.kill('SIGKILL');
          await goneWithin(grace);
        }
      }
      process.removeListener('exit', killOnExit);
    })());

  try {
    await until(
      `${o.name} to answer GET ${o.healthUrl}`,
      async (seen) => {
        if (ended !== undefined) throw new GiveUp(`${o.name} exited before it was healthy (${ended})`);
        const res = await fetch(o.healthUrl, { signal: AbortSignal.timeout(2000) });
        if (res.status === 200) return true;
        seen(`HTTP ${res.status} ${await res.text()}`);
        return false;
      },
      { timeoutMs: o.healthTimeoutMs ?? 60_000, intervalMs: 250 },
    );
  } catch (err) {
    await stop();
    throw new Error(`${err instanceof Error ? err.message : String(err)}; its last lines:\n${recent.join('\n')}`, { cause: err });
  }
  return { child, stop };
}

/** Runs the stop functions newest first; every one runs even if an earlier one fails. */
export async function stopAll(stops: Array<() => Promise<void>>): Promise<void> {
  const errors: unknown[] = [];
  for (const stop of stops.reverse()) {
    try {
      await stop();
    } catch (err) {
      errors.push(err);
    }
  }
  if (errors.length) throw new AggregateError(errors, 'stopping the test processes failed');
}
