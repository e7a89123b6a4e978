#!/usr/bin/env -S npx tsx
// Entry point of `status`: flags → session → runStatus → exit code.
import { parseFlags, projectRoot, runMain } from './lib/core/cli.ts';
import { ExitCode } from './lib/core/errors.ts';
import { flagsHelp, pickFlags, settingFlagNames, settingOverrides } from './lib/core/flags.ts';
import { openSession } from './lib/core/session.ts';
import { runStatus } from './lib/status/screen.ts';

const HELP = `Usage: status [options]

One screen of what runs, read-only: the cluster (driver, kube context, running or not), the
release (revision, status, chart), and for each component of the app declaration its desired
and ready replicas, restarts with the reason a container waits (CrashLoopBackOff, …), the
endpoints behind its Service, and the image tag it runs beside the tag the current source gives
(marked stale when they differ: rerun setup). Then the URLs that reach the app, and whether a
port-forward is running.

Options:
${flagsHelp(settingFlagNames)}
  --watch            redraw every 2 s until Ctrl+C
${flagsHelp(['json', 'verbose', 'help'], { json: 'print the same as JSON on stdout (one line per redraw with --watch)' })}

Exit codes: 0 the state was read, 2 bad flags or configuration, 3 no cluster or no release
(what could be read is still printed), 130 interrupted (how --watch ends).`;

async function main(argv: string[]): Promise<number> {
  const flags = { ...pickFlags(...settingFlagNames, 'json', 'verbose', 'help'), watch: { type: 'boolean' } } as const;
  const { values: f } = parseFlags(argv, flags, 'status');
  if (f.help) {
    console.log(HELP);
    return ExitCode.ok;
  }
  const sn = await openSession({ root: projectRoot, flags: settingOverrides(f), verbose: f.verbose, json: f.json });
  return runStatus(sn, { json: f.json === true, watch: f.watch === true });
}

runMain(() => main(process.argv.slice(2)), { interruptMessage: '✖ interrupted' });
