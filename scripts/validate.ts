#!/usr/bin/env -S npx tsx
// Entry point of `validate`: checks the chart and configuration without a cluster (--static).
import { join, resolve } from 'node:path';
import { loadConfig, type Profile } from './lib/config.ts';
import { parseFlags, projectRoot, runMain } from './lib/cli.ts';
import { ExitCode, InputError } from './lib/errors.ts';
import { Exec } from './lib/exec.ts';
import { Helm, checkHelmVersion } from './lib/tools/helm.ts';
import { ensureHelm } from './lib/tools/helm-binary.ts';
import { formatCheck, runStaticValidation } from './lib/validate-static.ts';
import { runClusterValidation } from './lib/validate-cluster.ts';
import { settingOverrides } from './lib/flags.ts';

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
  --self-heal        also: delete a backend pod and see a replacement while requests go on
  --url URL          smoke-test this base URL (e.g. http://taskflow.local) instead of a port-forward
  --profile P        static checks of this profile only: dev or prod (default: both)
  --only lint        run helm lint only
  --chart DIR        chart to check (default: helm/taskflow)
  --driver, --context, --namespace   which cluster and namespace (as for setup)
  --json             print the results as JSON on stdout
  -v, --verbose      print every command run
  -h, --help         show this help

Exit codes: 0 all checks passed, 1 a check failed (its evidence is printed), 2 bad flags
or configuration, 3 helm missing or too old, or no cluster/release to validate.`;

async function main(argv: string[]): Promise<number> {
  const { values: flags } = parseFlags(
    argv,
    {
      static: { type: 'boolean' },
      persistence: { type: 'boolean' },
      'self-heal': { type: 'boolean' },
      url: { type: 'string' },
      driver: { type: 'string' },
      context: { type: 'string' },
      namespace: { type: 'string' },
      profile: { type: 'string' },
      only: { type: 'string' },
      chart: { type: 'string' },
      json: { type: 'boolean' },
      verbose: { type: 'boolean', short: 'v' },
      help: { type: 'boolean', short: 'h' },
    },
    'validate',
  );
  if (flags.help) {
    console.log(HELP);
    return ExitCode.ok;
  }
  if (flags.static && (flags.persistence || flags['self-heal'] || flags.url)) {
    throw new InputError('--persistence, --self-heal and --url need a cluster, and --static checks without one', 'Drop --static to run them.');
  }
  if (flags.url !== undefined && !/^https?:\/\/\S+$/.test(flags.url)) throw new InputError(`--url ${flags.url} is not an http(s) URL`, 'Give e.g. --url http://taskflow.local');
  if (flags.profile !== undefined && flags.profile !== 'dev' && flags.profile !== 'prod') {
    throw new InputError(`--profile ${flags.profile} is not a profile`, 'Use --profile dev or --profile prod.');
  }
  if (flags.only !== undefined && flags.only !== 'lint') {
    throw new InputError(`--only ${flags.only} is not known`, 'The only value is --only lint.');
  }

  const config = loadConfig({ root: projectRoot, flags: settingOverrides(flags) });
  const out = (line: string) => (flags.json ? process.stderr : process.stdout).write(`${line}\n`);
  out(`✔ configuration — ${config.envFileExists ? 'env/.env' : 'defaults (no env/.env yet)'} is valid`);

  const exec = new Exec({ verbose: flags.verbose === true });
  const helm = new Helm(exec, await ensureHelm(projectRoot));
  checkHelmVersion(await helm.version());

  const started = Date.now();
  const profiles: Profile[] = flags.profile ? [flags.profile as Profile] : ['dev', 'prod'];
  const results = await runStaticValidation(helm, {
    chartDir: flags.chart ? resolve(flags.chart) : join(projectRoot, 'helm', 'taskflow'),
    release: config.settings.TASKFLOW_RELEASE,
    namespace: config.settings.TASKFLOW_NAMESPACE,
    profiles,
    only: flags.only === 'lint' ? 'lint' : undefined,
    onResult: (r) => out(formatCheck(r)),
  });
  if (!flags.static && results.every((r) => r.ok)) {
    results.push(
      ...(await runClusterValidation({
        config,
        exec,
        helmBin: helm.bin,
        url: flags.url,
        persistence: flags.persistence === true,
        selfHeal: flags['self-heal'] === true,
        verbose: flags.verbose === true,
        onResult: (r) => out(formatCheck(r)),
        log: out,
      })),
    );
  }
  const failed = results.filter((r) => !r.ok).length;
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  out(`${results.length + 1} checks: ${results.length + 1 - failed} passed, ${failed} failed in ${secs}s`);
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ ok: failed === 0, checks: [{ name: 'configuration', ok: true, details: [] }, ...results] }, null, 2)}\n`);
  }
  return failed === 0 ? ExitCode.ok : ExitCode.failed;
}

runMain(() => main(process.argv.slice(2)));
