// The one place that starts processes (through zx): dry-run, quiet/verbose output, secret masking.
import { $, type ProcessOutput } from 'zx';
import { PrerequisiteError, UserError } from './errors.ts';

export type ExecResult = { stdout: string; stderr: string; exitCode: number };

export type RunOptions = {
  cwd?: string;
  env?: Record<string, string | undefined>;
  /** Written to the child's stdin (how secrets reach helm: never argv). */
  input?: string;
  /** A non-zero exit is an answer, not a failure: return it instead of throwing. */
  nothrow?: boolean;
  /** Changes something (cluster, images, files). Under dry-run it is printed, not run. */
  mutating?: boolean;
  timeoutMs?: number;
};

/** A command a dry run printed instead of running, or any command run, for logs and tests. */
export type CommandRecord = { command: string; dryRun: boolean };

const secrets = new Set<string>();

/** Remembers a secret value so it is masked wherever this module prints or records a command. */
export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 4) secrets.add(value);
}

/** Replaces every registered secret in text with ***. */
export function mask(text: string): string {
  let out = text;
  // Longest first, so a secret that contains another is masked whole.
  for (const s of [...secrets].sort((a, b) => b.length - a.length)) out = out.split(s).join('***');
  return out;
}

/** Quotes an argument for display only (the process gets the raw argv, never this string). */
export function displayArg(arg: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

export function formatCommand(cmd: string, args: readonly string[]): string {
  return mask([cmd, ...args].map(displayArg).join(' '));
}

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
    const shown = formatCommand(cmd, args);
    const skip = this.settings.dryRun && opts.mutating === true;
    this.history.push({ command: shown, dryRun: skip });
    if (skip) {
      this.settings.log(`[dry-run] would run: ${shown}`);
      return { stdout: '', stderr: '', exitCode: 0 };
    }
    if (this.settings.verbose) this.settings.log(`$ ${shown}`);

    const run = $({
      cwd: opts.cwd,
      env: opts.env ? { ...process.env, ...opts.env } : process.env,
      input: opts.input,
      nothrow: true,
      quiet: true,
      timeout: opts.timeoutMs,
    });
    let out: ProcessOutput;
    try {
      out = await run`${cmd} ${args}`;
    } catch (err) {
      throw this.spawnError(cmd, err);
    }
    // zx reports a command that could not be started as exit code 127 (via the shell) or ENOENT.
    if (out.exitCode === 127 && /not found|ENOENT/i.test(out.stderr)) {
      throw new PrerequisiteError(`${cmd} was not found on PATH`, `Install ${cmd} and rerun.`);
    }
    const result = { stdout: out.stdout, stderr: out.stderr, exitCode: out.exitCode ?? 1 };
    if (result.exitCode !== 0 && !opts.nothrow) {
      const tail = mask(result.stderr.trim() || result.stdout.trim()).split('\n').slice(-15).join('\n');
      throw new UserError(`command failed (exit ${result.exitCode}): ${shown}${tail ? `\n${tail}` : ''}`);
    }
    return result;
  }

  private spawnError(cmd: string, err: unknown): Error {
    const code = (err as { code?: string }).code;
    if (code === 'ENOENT') return new PrerequisiteError(`${cmd} was not found on PATH`, `Install ${cmd} and rerun.`);
    return err instanceof Error ? err : new Error(String(err));
  }
}
