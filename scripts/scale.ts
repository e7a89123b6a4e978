#!/usr/bin/env -S npx tsx
// Entry point of `scale`: flags → runScale → exit code.
import { parseFlags, projectRoot, runMain } from './lib/cli.ts';
import { ExitCode } from './lib/errors.ts';
import { commonFlags, settingFlags, settingFlagsHelp, settingOverrides, timeoutFlag } from './lib/flags.ts';
import { runScale } from './lib/scale.ts';
import { ensureHelm } from './lib/tools/helm-binary.ts';

const HELP = `Usage: scale [--frontend N] [--backend N] [--hpa on|off] [options]

Changes the release's replica counts or turns its HorizontalPodAutoscalers on or off with
helm upgrade --reuse-values (so the next setup keeps the change), waits until the new
replicas are ready and each Service has that many endpoints, and prints before/after.
Scaling to the current count is a no-op that says so.

Options:
  --frontend N       frontend replicas (1 to TASKFLOW_MAX_REPLICAS, default max 10)
  --backend N        backend replicas
  --hpa on|off       autoscaling; on needs metrics-server (offered on minikube)
${settingFlagsHelp}
  --dry-run          print what would change and the exact command
  --timeout T        how long helm waits (default 5m)
  -y, --yes          enable metrics-server without asking
  --json             print a JSON summary on stdout
  -v, --verbose      print every command run
  -h, --help         show this help

Exit codes: 0 done (or nothing to do), 1 a step failed, 2 bad input, 3 no release or
cluster to scale, 130 interrupted.`;

async function main(argv: string[]): Promise<number> {
  const { values: f } = parseFlags(
    argv,
    {
      ...settingFlags,
      frontend: { type: 'string' },
      backend: { type: 'string' },
      hpa: { type: 'string' },
      ...commonFlags,
    },
    'scale',
  );
  if (f.help) {
    console.log(HELP);
    return ExitCode.ok;
  }
  const timeout = timeoutFlag(f.timeout, '5m');
  return runScale(
    {
      root: projectRoot,
      request: {},
      raw: { backend: f.backend, frontend: f.frontend, hpa: f.hpa },
      dryRun: f['dry-run'] === true,
      verbose: f.verbose === true,
      json: f.json === true,
      yes: f.yes === true,
      timeout,
      flags: settingOverrides(f),
    },
    await ensureHelm(projectRoot).catch(() => 'helm'),
  );
}

runMain(() => main(process.argv.slice(2)));
