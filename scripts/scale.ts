#!/usr/bin/env -S npx tsx
// Entry point of `scale`: flags → session → runScale → exit code.
import { parseFlags, projectRoot, runMain } from './lib/core/cli.ts';
import { ExitCode } from './lib/core/errors.ts';
import { appForFlags, componentFlags, flagsHelp, lifecycleFlagNames, pickFlags, settingFlagNames, settingOverrides, timeoutFlag } from './lib/core/flags.ts';
import { runScale } from './lib/scale/replicas.ts';
import { openSession } from './lib/core/session.ts';

const HELP = `Usage: scale [--<component> N]… [--component name=N]… [--hpa on|off] [options]

Changes the release's replica counts or turns its HorizontalPodAutoscalers on or off with
helm upgrade --reset-then-reuse-values (so the next setup keeps the change; on Helm before
3.14 the release's own values are passed back instead), waits until the new
replicas are ready and each Service has that many endpoints, and prints before/after.
Scaling to the current count is a no-op that says so.

Options:
  --<component> N    that component's replicas, for each component env/app.yaml declares
                     (1 to TASKFLOW_MAX_REPLICAS, default max 10), e.g. --web 3
  --component name=N the same, for any component by name (repeatable)
  --hpa on|off       autoscaling; on needs metrics-server (offered on minikube)
${flagsHelp([...settingFlagNames, ...lifecycleFlagNames], { yes: 'enable metrics-server without asking' })}

Exit codes: 0 done (or nothing to do), 1 a step failed, 2 bad input, 3 no release or
cluster to scale, 130 interrupted.`;

async function main(argv: string[]): Promise<number> {
  const own = { ...pickFlags(...settingFlagNames, ...lifecycleFlagNames), component: { type: 'string', multiple: true }, hpa: { type: 'string' } } as const;
  const counts = componentFlags(appForFlags(projectRoot), '', own);
  const { values: f } = parseFlags(argv, { ...own, ...counts }, 'scale');
  if (f.help) {
    const names = Object.values(counts).map((c) => `--${c.component}`);
    console.log(names.length ? HELP.replace('\nOptions:\n', `\nThe components of this app: ${names.join(', ')}.\n\nOptions:\n`) : HELP);
    return ExitCode.ok;
  }
  const timeout = timeoutFlag(f.timeout, '5m');
  const sn = await openSession({ root: projectRoot, flags: settingOverrides(f), dryRun: f['dry-run'], verbose: f.verbose, json: f.json });
  const given = f as Record<string, unknown>;
  const replicas: Record<string, string> = {};
  for (const [flag, { component }] of Object.entries(counts)) if (typeof given[flag] === 'string') replicas[component] = given[flag] as string;
  return runScale(sn, { raw: { replicas, component: f.component, hpa: f.hpa }, yes: f.yes === true, timeout });
}

runMain(() => main(process.argv.slice(2)));
