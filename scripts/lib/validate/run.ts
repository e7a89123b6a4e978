// `validate`: the configuration, the static checks of the chart, then (without --static) the checks
// of the running release; one checklist line per check, a closing count, the JSON result on --json.
import { setFlagsFromString } from 'node:v8';
import { CheckRecorder, formatCheck } from './checks.ts';
import { loadConfig, type Config, type Profile } from '../app/config.ts';
import { ExitCode } from '../core/errors.ts';
import { mask } from '../core/secrets.ts';
import { openSession, type FlagOverrides } from '../core/session.ts';
import { chartDir, chartLayers } from '../app/values.ts';
import { declarationLayer, extraSecretKeys, migrationValues } from '../release/values.ts';
import { chartReaderEnv, checkHelmVersion, Helm, toYaml } from '../tools/helm.ts';
import { helmVersion } from '../tools/helm-version.ts';
import { Ui } from '../core/ui.ts';
import { runStaticValidation } from './static.ts';

export type ValidateOptions = {
  root: string;
  flags: FlagOverrides;
  /** Only the checks that need no cluster. */
  static: boolean;
  /** The chart to check; helm/taskflow by default. */
  chartDir?: string;
  profiles: Profile[];
  only?: 'lint';
  url?: string;
  /** The HTTP smoke workflow through a port-forward (or --url); off with --skip-http. */
  http: boolean;
  persistence: boolean;
  selfHeal: boolean;
  json: boolean;
  /** Prints every command run and each check's duration. */
  verbose: boolean;
};

/**
 * The values validate gives helm on stdin after a profile's file: the chart as setup installs it,
 * the declared components under the profile's own values. Each secret key the components read is
 * held empty: no value of env/.env goes into these renders.
 */
export function declarationValues(config: Config, chart: string, profile: Profile): string {
  const { profileValues, chartValues } = chartLayers(chart, profile);
  const app = config.app;
  const extra = Object.fromEntries(extraSecretKeys(app).map((k) => [k, '']));
  return toYaml({ components: declarationLayer(app, config.appValues, chartValues, profileValues, config.settings.TASKFLOW_DRIVER, profile), migrations: migrationValues(app), secrets: { extra } });
}

/** Runs every check asked for and returns the exit code: 0 when all passed, 1 when one failed. */
export async function runValidate(o: ValidateOptions): Promise<number> {
  // validate --static is over in about a second: V8's optimising compiler (TurboFan) spent more CPU
  // compiling the YAML parser and the schema validators than its code saved (the two renders parsed
  // in about 60 ms of CPU instead of 165). Everything still runs, in the interpreter and baseline code.
  setFlagsFromString('--no-opt');
  const started = Date.now();
  const ui = new Ui({ json: o.json });
  const out = (line: string) => ui.info(line);
  const checks = new CheckRecorder((r) => out(formatCheck(r, { timings: o.verbose })));

  // Loading the configuration is the first check; a bad one is bad input and stops the run (exit 2).
  const config = await checks.gate('configuration', async () => {
    const config = loadConfig({ root: o.root, flags: o.flags });
    return { value: config, details: [`${config.envFileExists ? 'env/.env' : 'defaults (no env/.env yet)'} is valid`] };
  });
  const sn = await openSession({ root: o.root, flags: o.flags, verbose: o.verbose, json: o.json, ui, config });
  // Every helm of the static checks reads the chart and exits: no garbage collection needed.
  const helm = new Helm(sn.exec, sn.tools.helm.bin, chartReaderEnv());
  checkHelmVersion(await helmVersion(helm));

  const appLayers = new Map<string, string>();
  await runStaticValidation(helm, checks, {
    chartDir: o.chartDir ?? chartDir(o.root),
    release: sn.scope.release,
    namespace: sn.scope.namespace,
    profiles: o.profiles,
    only: o.only,
    // Lint and render of one profile share it: computed once per profile.
    appValues: (profile) => {
      let text = appLayers.get(profile);
      if (text === undefined) {
        text = declarationValues(sn.config, o.chartDir ?? chartDir(o.root), profile);
        appLayers.set(profile, text);
      }
      return text;
    },
  });
  if (!o.static && checks.failed === 0) {
    // Loaded here, not at start-up: --static needs none of the cluster code (port-forward, smoke, drills).
    const { runClusterValidation } = await import('./cluster.ts');
    await runClusterValidation(sn, checks, { url: o.url, http: o.http, persistence: o.persistence, selfHeal: o.selfHeal, log: out });
  }

  const total = checks.results.length;
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  out(`${total} checks: ${total - checks.failed} passed, ${checks.failed} failed in ${secs}s`);
  if (o.json) process.stdout.write(`${mask(JSON.stringify({ ok: checks.failed === 0, checks: checks.results }, null, 2))}\n`);
  return checks.failed === 0 ? ExitCode.ok : ExitCode.failed;
}
