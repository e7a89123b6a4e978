// The PID file of a running port-forward supervisor: where it is, whether the process it names is
// really ours, and stopping it. port-forward writes it; port-forward --stop and cleanup read it.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { waitFor } from './wait.ts';

/** Where a port-forward supervisor (foreground or --detach) records its PID. */
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

/** A PID that is alive and, where /proc can tell, really a port-forward (PIDs get reused after a reboot). */
function isPortForward(pid: number): boolean {
  if (!alive(pid)) return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('port-forward');
  } catch {
    return true; // no /proc (macOS): a live PID has to do
  }
}

/** Records this or a child's PID. */
export function writePidFile(pidFile: string, pid: number): void {
  mkdirSync(dirname(pidFile), { recursive: true });
  writeFileSync(pidFile, `${pid}\n`);
}

/** Removes the PID file only if it still names `pid` (a newer supervisor may have replaced it). */
export function removePidFileOf(pidFile: string, pid: number): void {
  try {
    if (readFileSync(pidFile, 'utf8').trim() === String(pid)) rmSync(pidFile, { force: true });
  } catch {
    /* already gone */
  }
}

/** The PID of the running supervisor, or undefined (a stale file is removed unless `keepStale`). */
export function runningInstance(pidFile: string, opts: { keepStale?: boolean } = {}): number | undefined {
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  // A detached supervisor finds its own PID there: the command that started it wrote it.
  if (pid === process.pid) return undefined;
  if (Number.isInteger(pid) && pid > 0 && isPortForward(pid)) return pid;
  if (!opts.keepStale) rmSync(pidFile, { force: true });
  return undefined;
}

/** Stops a running supervisor: SIGTERM, wait for it to take its kubectl children down, remove the PID file. */
export async function stopRunning(pidFile: string, graceMs = 10_000): Promise<{ pid?: number; forced: boolean; stale: boolean }> {
  const stale = existsSync(pidFile);
  const pid = runningInstance(pidFile);
  if (pid === undefined) return { forced: false, stale };
  process.kill(pid, 'SIGTERM');
  const gone = await waitFor(() => !alive(pid), { timeout: graceMs, interval: 100, describe: `port-forward (pid ${pid}) to stop`, onTimeout: () => new Error('still running') }).catch(() => false);
  if (!gone) process.kill(pid, 'SIGKILL');
  rmSync(pidFile, { force: true });
  return { pid, forced: !gone, stale: false };
}
