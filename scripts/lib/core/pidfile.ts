// The PID file of a running port-forward supervisor and the control endpoint it serves: where the
// file is, whether the process it names is really ours (on every OS), and stopping it gracefully.
//
// Signals cannot do either job everywhere: on Windows process.kill(pid, 'SIGTERM') is
// TerminateProcess (Node docs, "Signal events"), so the supervisor never gets to stop its kubectl
// children, and only Linux has a /proc to tell a reused PID from ours. So the supervisor listens on
// 127.0.0.1 with a random token kept in the PID file: whoever answers with that token and the
// file's PID is ours, and asking it to stop runs the same graceful stop as Ctrl+C.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import { dirname, join } from 'node:path';
import { waitFor } from './wait.ts';

/** Where a port-forward supervisor (foreground or --detach) records its PID and control endpoint. */
export function portForwardPidFile(root: string): string {
  return join(root, '.cache', 'port-forward.pid');
}

/** Where a detached supervisor writes its output. */
export function portForwardLogFile(root: string): string {
  return join(root, '.cache', 'logs', 'port-forward.log');
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The supervisor's control endpoint: a port on 127.0.0.1 and the token it wants. */
export type Endpoint = { port: number; token: string };

/** What a PID file holds. No endpoint: a bare number, written before the endpoint existed. */
export type PidRecord = { pid: number; endpoint?: Endpoint };

const TOKEN_HEADER = 'x-taskflow-token';
/** A live supervisor answers on loopback within milliseconds; this only bounds a hung one. */
const ASK_TIMEOUT_MS = 3000;

/** The record in a PID file, or undefined when there is none or it is not one (empty, garbled). */
export function readPidRecord(pidFile: string): PidRecord | undefined {
  let text: string;
  try {
    text = readFileSync(pidFile, 'utf8').trim();
  } catch {
    return undefined;
  }
  if (/^\d+$/.test(text)) return { pid: Number(text) };
  try {
    const j = JSON.parse(text) as { pid?: unknown; port?: unknown; token?: unknown };
    const whole = (n: unknown): n is number => Number.isInteger(n) && (n as number) > 0;
    if (whole(j.pid) && whole(j.port) && typeof j.token === 'string' && j.token) return { pid: j.pid, endpoint: { port: j.port, token: j.token } };
  } catch {
    /* not JSON */
  }
  return undefined;
}

/** Removes the PID file only if it still names `pid` (a newer supervisor may have replaced it). */
export function removePidFileOf(pidFile: string, pid: number): void {
  if (readPidRecord(pidFile)?.pid === pid) rmSync(pidFile, { force: true });
}

// ── the supervisor's side ──────────────────────────────────────────────────────────────────────

/** A control endpoint being served; close() stops answering. */
export type Control = { port: number; close(): void };

function tokenMatches(req: IncomingMessage, token: string): boolean {
  const given = Buffer.from(String(req.headers[TOKEN_HEADER] ?? ''));
  const wanted = Buffer.from(token);
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}

/**
 * Serves this process's control endpoint on 127.0.0.1 and records it with this PID in the PID
 * file. GET /whoami answers {"pid"}; POST /stop answers, then calls onStop. Both want the token,
 * which only the PID file holds. The server never keeps a finished process alive (unref).
 */
export async function serveControl(pidFile: string, onStop: () => void): Promise<Control> {
  const token = randomBytes(24).toString('base64url');
  const server = createServer((req, res) => {
    const reply = (status: number, body: object) => {
      // One request per connection: an idle keep-alive socket would hold the process open.
      res.writeHead(status, { 'content-type': 'application/json', connection: 'close' });
      res.end(JSON.stringify(body));
    };
    if (!tokenMatches(req, token)) return reply(403, { error: 'wrong token' });
    if (req.method === 'GET' && req.url === '/whoami') return reply(200, { pid: process.pid });
    if (req.method === 'POST' && req.url === '/stop') {
      res.once('finish', onStop);
      return reply(202, { pid: process.pid });
    }
    reply(404, { error: `unknown: ${req.method} ${req.url}` });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  server.unref();
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  mkdirSync(dirname(pidFile), { recursive: true });
  writeFileSync(pidFile, `${JSON.stringify({ pid: process.pid, port, token })}\n`, { mode: 0o600 });
  return {
    port,
    close() {
      server.closeAllConnections();
      server.close();
    },
  };
}

// ── everyone else's side: observe, decide, act ─────────────────────────────────────────────────

/** Sends one request to an endpoint; the PID it answers with, or undefined when nothing (with that token) answers. */
async function request(endpoint: Endpoint, method: 'GET' | 'POST', path: string): Promise<number | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${endpoint.port}${path}`, {
      method,
      headers: { [TOKEN_HEADER]: endpoint.token },
      signal: AbortSignal.timeout(ASK_TIMEOUT_MS),
    });
    const body = (await res.json()) as { pid?: unknown };
    return res.ok && typeof body.pid === 'number' ? body.pid : undefined;
  } catch {
    return undefined;
  }
}

/** How the process a PID file names is looked at; tests pass their own to play another OS. */
export type Probe = {
  /** The PID the endpoint answers with, or undefined when it does not answer with the token. */
  whoami(endpoint: Endpoint): Promise<number | undefined>;
  /** A PID's command line ('' when it is gone), or undefined where the OS has no /proc to tell. */
  commandLine(pid: number): string | undefined;
};

export const systemProbe: Probe = {
  whoami: (endpoint) => request(endpoint, 'GET', '/whoami'),
  commandLine(pid) {
    if (!existsSync('/proc/self/cmdline')) return undefined;
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      return '';
    }
  },
};

/** What was seen of a PID file and the process it names. */
export type Sighting = {
  exists: boolean;
  record?: PidRecord;
  /** The file names the process looking (a PID reused by this very run). */
  self: boolean;
  /** The PID its endpoint answered with (endpoint records only). */
  answered?: number;
  /** The process's command line, for a bare-number record; undefined without /proc. */
  commandLine?: string;
};

/**
 * Whose process a PID file names. `ours` only on proof: the endpoint answered with the token and
 * the file's PID, or (a bare-number file from before the endpoint) /proc shows a port-forward.
 * Anything else is `stale`: remove the file and signal nothing, since after a reboot the PID can
 * belong to any process.
 */
export type Identity = { kind: 'none' } | { kind: 'stale'; why: string } | { kind: 'ours'; pid: number; endpoint?: Endpoint };

export function identify(seen: Sighting): Identity {
  if (!seen.exists) return { kind: 'none' };
  const r = seen.record;
  if (!r) return { kind: 'stale', why: 'not a PID file' };
  if (seen.self) return { kind: 'stale', why: 'names this process' };
  if (r.endpoint) {
    return seen.answered === r.pid ? { kind: 'ours', pid: r.pid, endpoint: r.endpoint } : { kind: 'stale', why: 'its control endpoint does not answer' };
  }
  if (seen.commandLine === undefined) return { kind: 'stale', why: 'a bare PID that nothing here can verify' };
  if (seen.commandLine === '') return { kind: 'stale', why: 'its process is gone' };
  return seen.commandLine.includes('port-forward') ? { kind: 'ours', pid: r.pid } : { kind: 'stale', why: 'the PID is not a port-forward' };
}

export async function observe(pidFile: string, probe: Probe = systemProbe): Promise<Sighting> {
  if (!existsSync(pidFile)) return { exists: false, self: false };
  const record = readPidRecord(pidFile);
  if (!record) return { exists: true, self: false };
  const seen: Sighting = { exists: true, record, self: record.pid === process.pid };
  if (seen.self) return seen;
  if (record.endpoint) seen.answered = await probe.whoami(record.endpoint);
  else seen.commandLine = probe.commandLine(record.pid);
  return seen;
}

export type InstanceOptions = { probe?: Probe };

/** The PID of the running supervisor, or undefined (a stale file is removed unless `keepStale`). */
export async function runningInstance(pidFile: string, opts: InstanceOptions & { keepStale?: boolean } = {}): Promise<number | undefined> {
  const id = identify(await observe(pidFile, opts.probe));
  if (id.kind === 'stale' && !opts.keepStale) rmSync(pidFile, { force: true });
  return id.kind === 'ours' ? id.pid : undefined;
}

export type StopResult = { pid?: number; forced: boolean; stale: boolean };

/** "pid N", and that it had to be killed: the detail both port-forward --stop and cleanup print. */
export function describeStop(pid: number, forced: boolean): string {
  return `pid ${pid}${forced ? ', killed after it did not stop in time' : ''}`;
}

/**
 * Stops a running supervisor: asks its endpoint to stop (it stops its kubectl children, removes
 * the PID file and exits), waits up to `graceMs` for it to go, and only then kills it; it is
 * proven ours by then. A bare-number file that /proc vouches for gets SIGTERM instead, as before.
 */
export async function stopRunning(pidFile: string, opts: InstanceOptions & { graceMs?: number } = {}): Promise<StopResult> {
  const id = identify(await observe(pidFile, opts.probe));
  if (id.kind === 'none') return { forced: false, stale: false };
  if (id.kind === 'stale') {
    rmSync(pidFile, { force: true });
    return { forced: false, stale: true };
  }
  const { pid } = id;
  if (id.endpoint) await request(id.endpoint, 'POST', '/stop');
  else process.kill(pid, 'SIGTERM');
  // A timeout is an answer here (kill it), not a failure to report.
  const gone = await waitFor(() => !alive(pid), { timeout: opts.graceMs ?? 10_000, interval: 100, describe: `port-forward (pid ${pid}) to stop` }).catch(() => false);
  if (!gone) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* it went at the last moment */
    }
  }
  removePidFileOf(pidFile, pid);
  return { pid, forced: !gone, stale: false };
}
