#!/usr/bin/env -S npx tsx
// Entry point of `setup`: flags → session → runSetup → exit code.
import { parseFlags, projectRoot, runMain } from './lib/core/cli.ts';
import { ExitCode } from './lib/core/errors.ts';
import { flagsHelp, lifecycleFlagNames, pickFlags, settingFlagNames, settingOverrides, timeoutFlag } from './lib/core/flags.ts';
import { openSession } from './lib/core/session.ts';
import { runSetup } from './lib/setup/steps.ts';

const HELP = `Usage: setup [options]

Brings the app up on a local Kubernetes cluster, and converges any later run to the same
result without redoing work: preflight (tools, versions, Docker, resources) → configuration
(env/.env, secrets generated once) → cluster (started or reused) → addons → namespace →
images (built only when their content changed, loaded into the cluster) → helm upgrade
--install (waits, rolls back on failure, recovers a release stuck by an interrupted run) →
the URLs that work for your driver.

Options:
${flagsHelp(settingFlagNames)}
  --skip-build       use images already built; fail if one is missing
${flagsHelp(lifecycleFlagNames, {
  'dry-run': `print what each step found and would do, and the exact commands, with
                     the values helm would get on stdin (secrets masked)`,
  timeout: 'how long helm waits for the pods (default 10m)',
  yes: 'delete and recreate a broken cluster (a minikube profile whose node is gone)',
  json: 'print a JSON summary on stdout (progress goes to stderr)',
})}

Exit codes: 0 ready, 1 a step failed, 2 bad flags or configuration, 3 missing or too-old
prerequisite, 130 interrupted (rerun to continue).`;

async function main(argv: string[]): Promise<number> {
  const flags = { ...pickFlags(...settingFlagNames, ...lifecycleFlagNames), 'skip-build': { type: 'boolean' } } as const;
  const { values: f } = parseFlags(argv, flags, 'setup');
  if (f.help) {
    console.log(HELP);
    return ExitCode.ok;
  }
  const timeout = timeoutFlag(f.timeout, '10m');
  const sn = await openSession({ root: projectRoot, flags: settingOverrides(f), dryRun: f['dry-run'], verbose: f.verbose, json: f.json });
  return runSetup(sn, { skipBuild: f['skip-build'] === true, timeout, yes: f.yes === true });
}

runMain(() => main(process.argv.slice(2)));
