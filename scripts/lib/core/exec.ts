// The one place that starts processes: dry-run, quiet/verbose output, secret masking. Every
// process is spawned directly from an argument array, with no shell in between, on every OS: a
// shell rewrites arguments (Git Bash turns `/readyz` into `C:/Program Files/Git/readyz`,
// kubernetes/kubectl#594), and WSL's bash.exe would run the command inside Linux. On Windows,
// Node finds `helm.exe` for `helm` by itself (libuv tries .com and .exe), which covers every tool
// the toolkit runs.
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { ExitCode, InterruptedError, PrerequisiteError, UserError } from './errors.ts';
import { mask } from './secrets.ts';

export type ExecResult = { stdout: string; stderr: string; exitCode: number };

export type RunOptions = {
  cwd?: string;
  env?: Record<string, string | undefined>;
  /** Keys of `env` shown before the command where it is printed (verbose, dry run, logs), e.g. DOCKER_HOST. */
  showEnv?: string[];
  /** Written to the child's stdin (how secrets reach helm: never argv). */
  input?: string;
  /**
   * What a dry run or verbose output shows as the stdin, below the command: the input with its
   * secrets masked by the caller (masked again here). Without it the input is never shown.
   */
  shownInput?: string;
  /** A non-zero exit is an answer, not a failure: return it instead of throwing. */
  nothrow?: boolean;
  /** Changes something (cluster, images, files). Under dry-run it is printed, not run. */
  mutating?: boolean;
  timeoutMs?: number;
  /** Append the command and its output (masked) to this file, e.g. a build log the screen does not show. */
  logFile?: string;
};

/** A command a dry run printed instead of running, or any command run, for logs and tests. */
export type CommandRecord = { command: string; dryRun: boolean };

/** Quotes an argument for display only (the process gets the raw argv, never this string). */
export function displayArg(arg: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

export function formatCommand(cmd: string, args: readonly string[]): string {
  return mask([cmd, ...args].map(displayArg).join(' '));
}

// ── interruption ─────────────────────────────────────────────────────────────────────────────

/** Every child this process has started and that has not exited yet. */
const live = new Set<ChildProcess>();
let interrupted = false;

function track(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
  child.once('error', () => live.delete(child));
}

/** True once Ctrl+C (or SIGTERM) has been passed on: a child that ends now was stopped, not failed. */
export function interruptRequested(): boolean {
  return interrupted;
}

/** The commands still running, for the message shown while they stop. */
export function runningChildren(): string[] {
  return [...live].map((c) => `${c.spawnfile} (pid ${c.pid})`);
}

/**
 * Ctrl+C: start nothing more, pass the signal on to every running child and wait for them, so no
 * helm goes on alone after this process is gone (Helm 4 answers SIGINT by failing the release and,
 * with rollback-on-failure, rolling it back: pkg/cmd/upgrade.go). After `graceMs` the rest are killed.
 */
export async function interruptChildren(signal: NodeJS.Signals = 'SIGINT', graceMs = 30_000): Promise<void> {
  interrupted = true;
  const children = [...live];
  const exits = children.map((c) => new Promise<void>((resolve) => (c.exitCode !== null || c.signalCode !== null ? resolve() : c.once('exit', () => resolve()))));
  for (const c of children) c.kill(signal);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), graceMs)));
  const r = await Promise.race([Promise.all(exits), timeout]);
  clearTimeout(timer);
  if (r === 'timeout') for (const c of live) c.kill('SIGKILL');
}

/**
 * Once an interrupt has stopped the running children, lets a command that owes work of its own on
 * the way out start processes again: `dev --cleanup-on-exit` uninstalling the release it rolled.
 */
export function resumeAfterInterrupt(): void {
  interrupted = false;
}

/** A second Ctrl+C: stop waiting. */
export function killChildren(): void {
  interrupted = true;
  for (const c of live) c.kill('SIGKILL');
}

/** Runs a program to its end: argv straight to the OS, stdin from `input`, both outputs collected. */
function runToEnd(cmd: string, args: readonly string[], opts: RunOptions): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, [...args], {
      cwd: opts.cwd,
      env: opts.env ? { ...process.env, ...opts.env } : process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: opts.timeoutMs,
      windowsHide: true,
    });
    track(child);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.once('error', reject);
    // A child that exits before reading its stdin closes the pipe: that is its answer, not ours to fail on.
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
    child.once('close', (code, signal) =>
      resolve({
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString(),
        exitCode: code ?? (signal ? 128 + (signalNumbers[signal] ?? 1) : 1),
      }),
    );
  });
}

const signalNumbers: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

export type StartOptions = {
  cwd?: string;
  env?: Record<string, string | undefined>;
  /** Receives each line the child prints (masked), as it comes. */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  /** Run it in its own session, outliving this process: stdin closed, stdout and stderr appended to this file. */
  detachTo?: string;
};

/** How a long-running child ended; `error` when it could not be started at all. */
export type ChildExit = { code: number | null; signal: NodeJS.Signals | null; error?: Error };

/** A child that runs until it is stopped (a port-forward, a server). */
export type LongRunning = {
  readonly pid: number | undefined;
  /** Settles once the child has exited or failed to start; never rejects. */
  readonly exited: Promise<ChildExit>;
  running(): boolean;
  /** Sends a signal at once; synchronous, so an 'exit' hook can use it. */
  kill(signal?: NodeJS.Signals): void;
  /** SIGTERM, then SIGKILL after graceMs; resolves once the child is gone. */
  stop(graceMs?: number): Promise<ChildExit>;
};

export type ExecSettings = {
  dryRun: boolean;
  verbose: boolean;
  /** Where command lines go when verbose or dry-run (stderr by default, so stdout stays clean for --json). */
  log: (line: string) => void;
};

/** Runs commands. One instance per script run; tests make their own with a recording log. */
export class Exec {
  readonly history: CommandRecord[] = [];
  readonly settings: ExecSettings;

  constructor(settings: Partial<ExecSettings> = {}) {
    this.settings = {
      dryRun: false,
      verbose: false,
      log: (line) => process.stderr.write(`${line}\n`),
      ...settings,
    };
  }

  async run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<ExecResult> {
    const shown = [...(opts.showEnv ?? []).filter((k) => opts.env?.[k] !== undefined).map((k) => `${k}=${displayArg(opts.env?.[k] ?? '')} `), formatCommand(cmd, args)].join('');
    const skip = this.settings.dryRun && opts.mutating === true;
    this.history.push({ command: shown, dryRun: skip });
    const stdin = opts.shownInput === undefined ? '' : `\n  on stdin (secrets masked):\n${mask(opts.shownInput).trimEnd().split('\n').map((l) => `    ${l}`).join('\n')}`;
    if (skip) {
      this.settings.log(`[dry-run] would run: ${shown}${stdin}`);
      return { stdout: '', stderr: '', exitCode: 0 };
    }
    if (this.settings.verbose) this.settings.log(`$ ${shown}${stdin}`);
    if (interrupted) throw new InterruptedError();

    let result: ExecResult;
    try {
      result = await runToEnd(cmd, args, opts);
    } catch (err) {
      throw this.spawnError(cmd, err);
    }
    if (opts.logFile) {
      mkdirSync(dirname(opts.logFile), { recursive: true });
      appendFileSync(opts.logFile, mask(`$ ${shown}\n${result.stdout}${result.stderr}\n[exit ${result.exitCode}]\n`));
    }
    if (result.exitCode !== 0 && !opts.nothrow) {
      const tail = mask(result.stderr.trim() || result.stdout.trim()).split('\n').slice(-15).join('\n');
      throw new UserError(`command failed (exit ${result.exitCode}): ${shown}${tail ? `\n${tail}` : ''}`);
    }
    return result;
  }

  /**
   * Starts a long-running child (argv, no shell) and returns at once: `run` suits commands that
   * finish, this one children supervised for their whole life. Under dry-run it is printed only,
   * and the handle reports an immediate clean exit.
   */
  start(cmd: string, args: readonly string[], opts: StartOptions = {}): LongRunning {
    const shown = formatCommand(cmd, args);
    this.history.push({ command: shown, dryRun: this.settings.dryRun });
    if (this.settings.dryRun) {
      this.settings.log(`[dry-run] would start: ${shown}`);
      const done: ChildExit = { code: 0, signal: null };
      return { pid: undefined, exited: Promise.resolve(done), running: () => false, kill: () => {}, stop: () => Promise.resolve(done) };
    }
    if (this.settings.verbose) this.settings.log(`$ ${shown}${opts.detachTo ? ' &' : ''}`);
    if (interrupted) {
      const done: ChildExit = { code: null, signal: null, error: new InterruptedError() };
      return { pid: undefined, exited: Promise.resolve(done), running: () => false, kill: () => {}, stop: () => Promise.resolve(done) };
    }

    let logFd: number | undefined;
    if (opts.detachTo) {
      mkdirSync(dirname(opts.detachTo), { recursive: true });
      logFd = openSync(opts.detachTo, 'a');
    }
    const child = spawn(cmd, [...args], {
      cwd: opts.cwd,
      env: opts.env ? { ...process.env, ...opts.env } : process.env,
      stdio: logFd === undefined ? ['ignore', 'pipe', 'pipe'] : ['ignore', logFd, logFd],
      detached: logFd !== undefined,
    });
    if (logFd !== undefined) {
      closeSync(logFd);
      child.unref();
    } else track(child);
    const pipeLines = (stream: NodeJS.ReadableStream | null, name: 'stdout' | 'stderr') => {
      if (!stream) return;
      let buffered = '';
      stream.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        for (const line of lines) opts.onLine?.(mask(line), name);
      });
      stream.on('end', () => {
        if (buffered) opts.onLine?.(mask(buffered), name);
        buffered = '';
      });
    };
    pipeLines(child.stdout, 'stdout');
    pipeLines(child.stderr, 'stderr');

    let ended = false;
    child.once('exit', () => (ended = true));
    const exited = new Promise<ChildExit>((resolve) => {
      child.once('error', (err) => {
        ended = true;
        resolve({ code: null, signal: null, error: this.spawnError(cmd, err) });
      });
      // 'close' waits for the pipes to drain, so every line has reached onLine by then.
      child.once(logFd === undefined ? 'close' : 'exit', (code: number | null, signal: NodeJS.Signals | null) => {
        ended = true;
        resolve({ code, signal });
      });
    });
    const kill = (signal: NodeJS.Signals = 'SIGTERM') => {
      if (!ended) child.kill(signal);
    };
    return {
      pid: child.pid,
      exited,
      running: () => !ended,
      kill,
      async stop(graceMs = 5000) {
        kill('SIGTERM');
        const timer = setTimeout(() => kill('SIGKILL'), graceMs);
        const result = await exited;
        clearTimeout(timer);
        return result;
      },
    };
  }

  private spawnError(cmd: string, err: unknown): Error {
    const code = (err as { code?: string }).code;
    if (code === 'ENOENT') return new PrerequisiteError(`${cmd} was not found on PATH`, `Install ${cmd} and rerun.`);
    return new UserError(`could not start ${cmd}: ${err instanceof Error ? err.message : String(err)}`, `Check that ${cmd} is an executable program (on Windows a .exe; a .cmd or .bat needs a shell, which the toolkit does not use).`, ExitCode.missingPrerequisite);
  }
}
