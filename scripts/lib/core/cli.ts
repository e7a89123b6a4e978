// Shared entry-point plumbing: flag parsing with plain errors, and the one place errors become exit codes.
import { createInterface } from 'node:readline/promises';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ExitCode, InputError, UserError } from './errors.ts';
import { interruptChildren, killChildren, runningChildren } from './exec.ts';
import { mask } from './secrets.ts';

export { projectRoot } from '../paths.ts';

/** parseArgs, with unknown flags and missing values turned into an InputError that points at --help. */
export function parseFlags<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T, script: string) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: false, strict: true });
  } catch (err) {
    const msg = (err as Error).message.replace(/\. To specify a positional argument.*$/s, '');
    throw new InputError(msg, `Run ${script} --help for the flags it takes.`);
  }
}

/**
 * Runs an entry point's main function and exits with its code. A UserError prints its message
 * and hint (no stack); anything unexpected prints its stack and exits 1. Ctrl+C (or SIGTERM)
 * starts nothing more, passes the signal to the running children (helm, kubectl) and waits for
 * them, so none is left working alone, then exits 130; a second Ctrl+C stops the wait.
 */
export function runMain(main: () => Promise<number>, opts: { interruptMessage?: string; signals?: NodeJS.Signals[] } = {}): void {
  const message = opts.interruptMessage ?? '✖ interrupted — rerun the same command to continue from where it stopped';
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      killChildren();
      process.exit(ExitCode.interrupted);
    }
    stopping = true;
    const waiting = runningChildren();
    process.stderr.write(`\n${message}\n`);
    if (waiting.length) process.stderr.write(`  waiting for ${waiting.join(', ')} to stop (Ctrl+C again to kill ${waiting.length > 1 ? 'them' : 'it'})…\n`);
    void interruptChildren(signal).then(() => process.exit(ExitCode.interrupted));
  };
  for (const signal of opts.signals ?? ['SIGINT', 'SIGTERM']) process.on(signal, onSignal);
  main().then(
    (code) => {
      if (!stopping) process.exit(code);
    },
    (err: unknown) => {
      // Once interrupted, the signal handler ends the process when the children have stopped.
      if (stopping) return;
      if (err instanceof UserError) {
        process.stderr.write(`✖ ${mask(err.message)}\n`);
        if (err.hint) process.stderr.write(`  → ${mask(err.hint)}\n`);
        process.exit(err.exitCode);
      }
      process.stderr.write(`${mask(err instanceof Error ? (err.stack ?? err.message) : String(err))}\n`);
      process.exit(ExitCode.failed);
    },
  );
}

/**
 * For a command that winds down by itself when interrupted (dev): the first Ctrl+C or SIGTERM
 * prints the message and aborts the signal returned; a second kills the children and exits 130.
 * Pass `signals: []` to runMain with it.
 */
export function interruptSignal(message: string): AbortSignal {
  const ctrl = new AbortController();
  const onSignal = () => {
    if (ctrl.signal.aborted) {
      killChildren();
      process.exit(ExitCode.interrupted);
    }
    process.stderr.write(`\n${message}\n`);
    ctrl.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return ctrl.signal;
}

/** Asks a yes/no question on the terminal; without one (CI, a pipe) the answer is no. */
export async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const answer = await rl.question(`${question} [y/N] `);
  rl.close();
  return /^y(es)?$/i.test(answer.trim());
}
