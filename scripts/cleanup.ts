#!/usr/bin/env -S npx tsx
// Entry point of `cleanup`: flags → confirmation for --purge → session → runCleanup → exit code.
import { confirm, parseFlags, projectRoot, runMain } from './lib/core/cli.ts';
import { runCleanup } from './lib/cleanup/teardown.ts';
import { ExitCode, InputError } from './lib/core/errors.ts';
import { flagsHelp, lifecycleFlagNames, pickFlags, settingFlagNames, settingOverrides, timeoutFlag } from './lib/core/flags.ts';
import { openSession } from './lib/core/session.ts';

const HELP = `Usage: cleanup [options]

Takes the app back out: stops port-forwards started with --detach, uninstalls the release,
deletes the namespace and waits for it to go. Whatever is already gone is reported as such,
so a second run is a quiet success. env/.env (your settings and secrets) is never deleted.

Options:
  --keep-data        keep the namespace with the database volume and its Secret (only the release goes)
  --cluster          also stop the minikube profile
  --purge            also delete the cluster (minikube profile or kind cluster) and the built images
${flagsHelp([...settingFlagNames, ...lifecycleFlagNames], {
  'dry-run': 'print what would be removed, and the exact commands',
  timeout: 'how long helm waits for the uninstall (default 5m)',
  yes: 'do not ask before --purge',
})}

Exit codes: 0 clean, 1 a step failed, 2 bad flags or configuration, 3 missing prerequisite,
130 interrupted (rerun to continue).`;

async function main(argv: string[]): Promise<number> {
  const flags = { ...pickFlags(...settingFlagNames, ...lifecycleFlagNames), 'keep-data': { type: 'boolean' }, cluster: { type: 'boolean' }, purge: { type: 'boolean' } } as const;
  const { values: f } = parseFlags(argv, flags, 'cleanup');
  if (f.help) {
    console.log(HELP);
    return ExitCode.ok;
  }
  const timeout = timeoutFlag(f.timeout, '5m');
  if (f.purge && f['keep-data']) throw new InputError('--purge deletes the cluster, so --keep-data cannot keep anything', 'Use one of them.');
  const sn = await openSession({ root: projectRoot, flags: settingOverrides(f), dryRun: f['dry-run'], verbose: f.verbose, json: f.json });
  if (f.purge && !f.yes && !f['dry-run']) {
    if (!process.stdin.isTTY) throw new InputError('--purge deletes the cluster and the images and needs confirmation', 'Add --yes to confirm.');
    if (!(await confirm('This deletes the cluster, its data and the built images. Continue?'))) return ExitCode.ok;
  }
  return runCleanup(sn, { keepData: f['keep-data'] === true, stopCluster: f.cluster === true, purge: f.purge === true, timeout });
}

runMain(() => main(process.argv.slice(2)));
