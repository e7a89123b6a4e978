#!/usr/bin/env -S npx tsx
// Entry point of `rollback`: flags → session → runRollback → exit code.
import { parseFlags, projectRoot, runMain } from './lib/core/cli.ts';
import { ExitCode } from './lib/core/errors.ts';
import { flagsHelp, lifecycleFlagNames, pickFlags, settingFlagNames, settingOverrides, timeoutFlag } from './lib/core/flags.ts';
import { runRollback } from './lib/rollback/revision.ts';
import { openSession } from './lib/core/session.ts';

const HELP = `Usage: rollback [--to N] [options]

Shows the release's history (revision, updated, status, chart, description), rolls it back with
helm rollback to the last revision that was deployed before the current one, or to revision N,
waits until its workloads are ready, and prints what runs now. The database volume and its
Secret stay as they are. The next setup deploys the current source again.

Options:
  --to N             the revision to return to (one of helm history's; default: the last good one)
${flagsHelp([...settingFlagNames, ...lifecycleFlagNames], {
  'dry-run': 'print the history and the exact helm command, change nothing',
  yes: 'do not ask before rolling back (needed without a terminal)',
})}

Exit codes: 0 rolled back (or already at that revision), 1 a step failed, 2 bad input (--to
not a revision number or not in the history; nothing was changed), 3 no cluster, release or
earlier good revision, 130 interrupted.`;

async function main(argv: string[]): Promise<number> {
  const flags = { ...pickFlags(...settingFlagNames, ...lifecycleFlagNames), to: { type: 'string' } } as const;
  const { values: f } = parseFlags(argv, flags, 'rollback');
  if (f.help) {
    console.log(HELP);
    return ExitCode.ok;
  }
  const timeout = timeoutFlag(f.timeout, '5m');
  const sn = await openSession({ root: projectRoot, flags: settingOverrides(f), dryRun: f['dry-run'], verbose: f.verbose, json: f.json });
  return runRollback(sn, { to: f.to, yes: f.yes === true, timeout });
}

runMain(() => main(process.argv.slice(2)));
