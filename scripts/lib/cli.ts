// Shared entry-point plumbing: flag parsing with plain errors, and the one place errors become exit codes.
import { createInterface } from 'node:readline/promises';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { fileURLToPath } from 'node:url';
import { ExitCode, InputError, UserError } from './errors.ts';
import { mask } from './secrets.ts';

/** The project root (scripts/lib/ is two levels below it). */
export const projectRoot = fileURLToPath(new URL('../../', import.meta.url));

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
 * and hint (no stack); Ctrl+C exits 130; anything unexpected prints its stack and exits 1.
 */
export function runMain(main: () => Promise<number>, opts: { interruptMessage?: string } = {}): void {
  const message = opts.interruptMessage ?? '✖ interrupted — rerun the same command to continue from where it stopped';
  process.on('SIGINT', () => {
    process.stderr.write(`\n${message}\n`);
    process.exit(ExitCode.interrupted);
  });
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
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

/** Asks a yes/no question on the terminal; without one (CI, a pipe) the answer is no. */
export async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const answer = await rl.question(`${question} [y/N] `);
  rl.close();
  return /^y(es)?$/i.test(answer.trim());
}
