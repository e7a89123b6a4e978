#!/usr/bin/env -S npx tsx
// Entry point of `logs`: flags → session → runLogs → exit code.
import { parseFlags, projectRoot, runMain } from './lib/core/cli.ts';
import { ExitCode } from './lib/core/errors.ts';
import { flagsHelp, pickFlags, settingFlagNames, settingOverrides } from './lib/core/flags.ts';
import { runLogs, useColor } from './lib/logs/stream.ts';
import { openSession } from './lib/core/session.ts';

const HELP = `Usage: logs [--component NAME] [--since 10m] [--previous] [--no-follow] [options]

Prints the logs of every pod of the release as one stream, each line prefixed with its
component and pod (coloured on a terminal; not when piped or with NO_COLOR set), and keeps
following as rollouts and scaling replace pods: a new pod joins with its own prefix, a deleted
one drops out. Ctrl+C stops every kubectl it started.

Options:
  --component NAME   only these components (repeat, or a comma list: web,worker)
  --since D          only lines newer than D, e.g. 10m, 90s, 1h30m (passed to kubectl logs)
  --previous         the logs of each container's previous instance (the one that crashed); prints and exits
  --no-follow        print what is there and exit
${flagsHelp(['json', ...settingFlagNames, 'verbose', 'help'], { json: 'one JSON object per line: {"component", "pod", "line"}' })}

Exit codes: 0 printed (--no-follow, --previous), 1 kubectl could not read a log, 2 bad input,
3 no cluster, no release or no pods to read, 130 interrupted (how following ends).`;

async function main(argv: string[]): Promise<number> {
  const flags = {
    ...pickFlags(...settingFlagNames, 'json', 'verbose', 'help'),
    component: { type: 'string', multiple: true },
    since: { type: 'string' },
    previous: { type: 'boolean' },
    'no-follow': { type: 'boolean' },
  } as const;
  const { values: f } = parseFlags(argv, flags, 'logs');
  if (f.help) {
    console.log(HELP);
    return ExitCode.ok;
  }
  const sn = await openSession({ root: projectRoot, flags: settingOverrides(f), verbose: f.verbose, json: f.json });
  return runLogs(sn, {
    components: f.component ?? [],
    since: f.since,
    previous: f.previous === true,
    follow: f['no-follow'] !== true && f.previous !== true,
    json: f.json === true,
    color: useColor(process.stdout.isTTY, process.env),
  });
}

runMain(() => main(process.argv.slice(2)), { interruptMessage: '■ logs stopped' });
