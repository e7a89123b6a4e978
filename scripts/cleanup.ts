#!/usr/bin/env -S npx tsx
// Entry point of `cleanup`: flags → runCleanup → exit code.
import { createInterface } from 'node:readline/promises';
import { parseFlags, projectRoot, runMain } from './lib/cli.ts';
import { ExitCode, InputError } from './lib/errors.ts';
import { commonFlags, settingFlags, settingFlagsHelp, settingOverrides, timeoutFlag } from './lib/flags.ts';
import { runCleanup } from './lib/cleanup.ts';
import { ensureHelm } from './lib/tools/helm-binary.ts';

const HELP = `Usage: cleanup [options]

Takes the app back out: stops port-forwards started with --detach, uninstalls the release,
deletes the namespace and waits for it to go. Whatever is already gone is reported as such,
so a second run is a quiet success. env/.env (your settings and secrets) is never deleted.

Options:
  --keep-data        keep the namespace with the database volume and its Secret (only the release goes)
  --cluster          also stop the minikube profile
  --purge            also delete the cluster (minikube profile or kind cluster) and the built images
${settingFlagsHelp}
  --dry-run          print what would be removed, and the exact commands
  --timeout T        how long helm waits for the uninstall (default 5m)
  -y, --yes          do not ask before --purge
  --json             print a JSON summary on stdout
  -v, --verbose      print every command run
  -h, --help         show this help

Exit codes: 0 clean, 1 a step failed, 2 bad flags or configuration, 3 missing prerequisite,
130 interrupted (rerun to continue).`;

async function main(argv: string[]): Promise<number> {
  const { values: f } = parseFlags(
    argv,
    {
      ...settingFlags,
      'keep-data': { type: 'boolean' },
      cluster: { type: 'boolean' },
      purge: { type: 'boolean' },
      ...commonFlags,
    },
    'cleanup',
  );
  if (f.help) {
    console.log(HELP);
    return ExitCode.ok;
  }
  const timeout = timeoutFlag(f.timeout, '5m');
  if (f.purge && f['keep-data']) throw new InputError('--purge deletes the cluster, so --keep-data cannot keep anything', 'Use one of them.');
  if (f.purge && !f.yes && !f['dry-run']) {
    if (!process.stdin.isTTY) throw new InputError('--purge deletes the cluster and the images and needs confirmation', 'Add --yes to confirm.');
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    const answer = await rl.question('This deletes the cluster, its data and the built images. Continue? [y/N] ');
    rl.close();
    if (!/^y(es)?$/i.test(answer.trim())) return ExitCode.ok;
  }
  return runCleanup(
    {
      root: projectRoot,
      dryRun: f['dry-run'] === true,
      verbose: f.verbose === true,
      json: f.json === true,
      keepData: f['keep-data'] === true,
      stopCluster: f.cluster === true,
      purge: f.purge === true,
      timeout,
      flags: settingOverrides(f),
    },
    await ensureHelm(projectRoot).catch(() => 'helm'),
  );
}

runMain(() => main(process.argv.slice(2)));
