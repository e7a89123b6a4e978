#!/usr/bin/env -S npx tsx
// Entry point of `validate`: flags → runValidate (checks of the chart, the configuration and the release) → exit code.
import { resolve } from 'node:path';
import { parseFlags, projectRoot, runMain } from './lib/core/cli.ts';
import { ExitCode, InputError } from './lib/core/errors.ts';
import { flagsHelp, pickFlags, settingFlagNames, settingOverrides } from './lib/core/flags.ts';
import { runValidate } from './lib/validate/run.ts';

const HELP = `Usage: validate [--static] [options]

--static checks the taskflow chart and your configuration without a cluster:
configuration (env/.env), helm lint for values.yaml and each profile, a render of each
profile, every object against the Kubernetes schemas, and policy checks (Pod Security
Standard "restricted", probes, requests/limits, no secrets in ConfigMaps or literal env
values, selectors, Service ports, Ingress backends).

Without --static it also checks the running release: every Deployment available, the
database ready with its volume bound, every Service with endpoints, the ingress present
when enabled, pods non-root, no restart loops, the images setup built; then the HTTP
smoke workflow through a port-forward it opens (sign up, log in, task CRUD, chatbot, user
isolation, log out) with each step's latency.

Options:
  --static           only the checks that need no cluster
  --persistence      also: write a task, delete the database pod, read the task back
  --self-heal        also: delete a pod (of the component that uses the database, else the
                     entry one) and see a replacement while requests go on
  --url URL          smoke-test this base URL (e.g. http://taskflow.local) instead of a port-forward
  --skip-http        check the cluster objects only: no port-forward, no HTTP (pods unreachable, CI)
${flagsHelp(['profile'], { profile: 'static checks of this profile only: dev or prod (default: both)' })}
  --only lint        run helm lint only
  --chart DIR        chart to check (default: helm/taskflow)
  --driver, --context, --namespace   which cluster and namespace (as for setup)
${flagsHelp(['json', 'verbose', 'help'], { json: 'print the results as JSON on stdout', verbose: 'print every command run and how long each check took' })}

Exit codes: 0 all checks passed, 1 a check failed (its evidence is printed), 2 bad flags
or configuration, 3 helm missing or too old, or no cluster/release to validate.`;

const FLAGS = {
  ...pickFlags(...settingFlagNames, 'json', 'verbose', 'help'),
  static: { type: 'boolean' }, persistence: { type: 'boolean' }, 'self-heal': { type: 'boolean' },
  'skip-http': { type: 'boolean' }, url: { type: 'string' }, only: { type: 'string' }, chart: { type: 'string' },
} as const;

async function main(argv: string[]): Promise<number> {
  const { values: f } = parseFlags(argv, FLAGS, 'validate');
  if (f.help) {
    console.log(HELP);
    return ExitCode.ok;
  }
  if (f.static && (f.persistence || f['self-heal'] || f.url)) {
    throw new InputError('--persistence, --self-heal and --url need a cluster, and --static checks without one', 'Drop --static to run them.');
  }
  if (f['skip-http'] && (f.persistence || f['self-heal'] || f.url)) throw new InputError('--persistence, --self-heal and --url work over HTTP, which --skip-http leaves out', 'Use one or the other.');
  if (f.url !== undefined && !/^https?:\/\/\S+$/.test(f.url)) throw new InputError(`--url ${f.url} is not an http(s) URL`, 'Give e.g. --url http://taskflow.local');
  if (f.profile !== undefined && f.profile !== 'dev' && f.profile !== 'prod') throw new InputError(`--profile ${f.profile} is not a profile`, 'Use --profile dev or --profile prod.');
  if (f.only !== undefined && f.only !== 'lint') throw new InputError(`--only ${f.only} is not known`, 'The only value is --only lint.');
  return runValidate({
    root: projectRoot,
    flags: settingOverrides(f),
    static: f.static === true,
    chartDir: f.chart ? resolve(f.chart) : undefined,
    profiles: f.profile ? [f.profile] : ['dev', 'prod'],
    only: f.only,
    url: f.url,
    http: f['skip-http'] !== true,
    persistence: f.persistence === true,
    selfHeal: f['self-heal'] === true,
    json: f.json === true,
    verbose: f.verbose === true,
  });
}

runMain(() => main(process.argv.slice(2)));
