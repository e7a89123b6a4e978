// `scale`: changes replica counts or the HPA through `helm upgrade --reset-then-reuse-values` (before
// Helm 3.14, the release's own values passed back on stdin), so Helm stays the source of truth and
// the next setup keeps the change; then waits for the pods and endpoints.
import { hasService } from '../app/declaration.ts';
import { confirm } from '../core/cli.ts';
import { InputError, UserError } from '../core/errors.ts';
import { serviceName } from '../core/names.ts';
import { closest } from '../core/suggest.ts';
import { chartDir, type Values } from '../app/values.ts';
import { upgradeOrRollBack } from '../release/apply.ts';
import { hasResetThenReuse, type HelmVersion } from '../tools/helm.ts';
import type { Session } from '../core/session.ts';
import type { StepOutcome } from '../core/ui.ts';
import { waitFor } from '../core/wait.ts';

/** Replica counts by component, and the HPA switch. */
export type ScaleRequest = { replicas: Record<string, number>; hpa?: boolean };
export type ScaleState = { replicas: Record<string, number>; hpa: boolean };

/** Parses a replica count from a flag: a whole number from 1 to max, or an InputError naming the flag. */
export function parseReplicas(flag: string, raw: string, max: number): number {
  if (!/^\d+$/.test(raw.trim())) throw new InputError(`--${flag} ${JSON.stringify(raw)} is not a whole number`, `Give a replica count from 1 to ${max}, e.g. --${flag} 2.`);
  const n = Number(raw);
  if (n < 1) throw new InputError(`--${flag} ${n} is below 1`, `Give at least 1 (cleanup removes the app entirely).`);
  if (n > max) throw new InputError(`--${flag} ${n} is above the maximum of ${max}`, `Give at most ${max}, or raise TASKFLOW_MAX_REPLICAS in env/.env.`);
  return n;
}

export function parseHpa(raw: string): boolean {
  if (raw === 'on') return true;
  if (raw === 'off') return false;
  throw new InputError(`--hpa ${JSON.stringify(raw)} is not on or off`, 'Use --hpa on or --hpa off.');
}

export type ScalePlan = { set: string[]; changes: string[] };

/** Pure: the --set arguments that turn the current state into the requested one (none: a no-op). */
export function planScale(current: ScaleState, req: ScaleRequest): ScalePlan {
  const hpaAfter = req.hpa ?? current.hpa;
  const named = Object.keys(req.replicas);
  if (hpaAfter && named.length) {
    throw new InputError('the HPA is on, so it sets the replica counts', `Turn it off in the same call (--hpa off --${named[0]} ${req.replicas[named[0] as string]}), or change components.*.autoscaling.minReplicas/maxReplicas in the values.`);
  }
  const set: string[] = [];
  const changes: string[] = [];
  for (const [c, want] of Object.entries(req.replicas)) {
    const now = current.replicas[c] ?? 0;
    if (want !== now) {
      set.push(`components.${c}.replicaCount=${want}`);
      changes.push(`${c} ${now} → ${want}`);
    }
  }
  if (req.hpa !== undefined && req.hpa !== current.hpa) {
    set.push(`autoscaling.enabled=${req.hpa}`);
    changes.push(`HPA ${current.hpa ? 'on' : 'off'} → ${req.hpa ? 'on' : 'off'}`);
  }
  return { set, changes };
}

export type ScaleOptions = {
  /** Raw flag values, validated after the configuration (the maximum lives there): --<component> N by component, --component name=N, --hpa. */
  raw: { replicas: Record<string, string>; component?: string[]; hpa?: string };
  yes: boolean;
  timeout: string;
};

/** Every flag checked before any process runs; `components` are the declared ones. */
export function parseRequest(raw: ScaleOptions['raw'], maxReplicas: number, components: string[]): ScaleRequest {
  const req: ScaleRequest = { replicas: {} };
  for (const [c, value] of Object.entries(raw.replicas)) req.replicas[c] = parseReplicas(c, value, maxReplicas);
  for (const item of raw.component ?? []) {
    const m = /^([^=]+)=(.*)$/.exec(item);
    if (!m) throw new InputError(`--component ${JSON.stringify(item)} is not name=N`, `Give a component and a count, e.g. --component ${components[0] ?? 'web'}=2.`);
    const [, name = '', count = ''] = m;
    if (!components.includes(name)) {
      const near = closest(name, components);
      throw new InputError(`--component ${name}: there is no such component`, `${near ? `Did you mean ${near}? ` : ''}The declared components are ${components.join(', ')}.`);
    }
    req.replicas[name] = parseReplicas(`component ${name}=`, count, maxReplicas);
  }
  if (raw.hpa !== undefined) req.hpa = parseHpa(raw.hpa);
  if (Object.keys(req.replicas).length === 0 && req.hpa === undefined) {
    throw new InputError('nothing to scale', `Give ${components.map((c) => `--${c} N`).join(', ')}, --component name=N or --hpa on|off (see --help).`);
  }
  return req;
}

const onOff = (b: boolean) => (b ? 'on' : 'off');
const describe = (st: ScaleState) => `${Object.entries(st.replicas).map(([c, n]) => `${c} ${n}`).join(', ')}, HPA ${onOff(st.hpa)}`;
/** The --json shape: each component's count beside the HPA switch. */
const flat = (st: ScaleState) => ({ ...st.replicas, hpa: st.hpa });

/** What the release step read: the state before scaling, and the helm found. */
type Observed = { before: ScaleState; helm: HelmVersion };

/** Every step of scale and its report; throws where a step fails. */
export async function runScale(sn: Session, opts: ScaleOptions): Promise<number> {
  const { ui, tools: t, scope } = sn;
  const s = sn.config.settings;
  const components = Object.keys(sn.config.app.components);
  const req = parseRequest(opts.raw, s.TASKFLOW_MAX_REPLICAS, components);
  const names = Object.fromEntries(components.map((c) => [c, serviceName(s.TASKFLOW_RELEASE, c)]));

  return ui.finishOnError(async () => {
    const { before, helm } = await ui.step('release', () => readRelease(sn, components, names));
    const plan = planScale(before, req);

    if (plan.set.length === 0) {
      ui.info(`Already at the requested scale (${describe(before)}); nothing to do.`);
      ui.finish({ before: flat(before), after: flat(before), changed: false });
      return 0;
    }

    if (req.hpa === true && !before.hpa) await ui.step('metrics-server', () => ensureMetricsServer(sn, opts.yes));

    await ui.step(`scale: ${plan.changes.join(', ')}`, async () => {
      await upgradeOrRollBack(sn, () => t.release.setValues({ ...scope, chart: chartDir(sn.root), set: plan.set, timeout: opts.timeout, helm }), { helm, timeout: opts.timeout, rerun: 'rerun scale' });
      const how = hasResetThenReuse(helm) ? '--reset-then-reuse-values' : "the release's values (helm get values)";
      return { status: 'done', detail: sn.dryRun ? `would upgrade with ${how}` : `upgraded with ${how}` };
    });

    if (sn.dryRun) {
      ui.finish({ before: flat(before), changed: false });
      return 0;
    }

    const after = await ui.step('pods and endpoints ready', () => waitForScale(sn, components, names, req, before));
    ui.info(`before: ${describe(before)}`);
    ui.info(`after:  ${describe(after)}`);
    ui.finish({ before: flat(before), after: flat(after), changed: true });
    return 0;
  });
}

/** Checks the release is there and deployed, and reads its replica counts, HPA switch and the helm version. */
async function readRelease(sn: Session, components: string[], names: Record<string, string>): Promise<StepOutcome<Observed>> {
  const { tools: t, context, scope } = sn;
  const s = sn.config.settings;
  const ns = s.TASKFLOW_NAMESPACE;
  if (!(await t.kubectl.contexts()).includes(context)) throw new UserError(`kube context ${context} does not exist`, 'Run setup first.', 3);
  const info = await t.release.status(scope);
  if (!info) throw new UserError(`release ${s.TASKFLOW_RELEASE} is not installed in namespace ${ns}`, 'Run setup first.', 3);
  if (info.status !== 'deployed') throw new UserError(`release ${s.TASKFLOW_RELEASE} is ${info.status}`, 'Run setup to bring it back to a deployed state, then scale.');
  const [version, values, ...deployments] = await Promise.all([
    t.helm.version(),
    t.release.values(scope),
    ...components.map((c) => t.kubectl.deployment(context, ns, names[c] as string)),
  ]);
  const replicas = Object.fromEntries(components.map((c, i) => [c, deployments[i]?.replicas ?? 0]));
  const state: ScaleState = { replicas, hpa: Boolean(((values.autoscaling ?? {}) as Values).enabled) };
  return {
    status: 'skipped',
    detail: `revision ${info.revision}: ${describe(state)}`,
    value: { before: state, helm: version },
  };
}

/** The HPA needs metrics-server: found, or enabled as a minikube addon (asking first unless --yes). */
async function ensureMetricsServer(sn: Session, yes: boolean): Promise<StepOutcome> {
  const { cluster, tools: t, context } = sn;
  const addons = await cluster.addons();
  const available = addons ? addons['metrics-server'] === true : await t.kubectl.metricsApiAvailable(context);
  if (available) return { status: 'skipped', detail: 'available' };
  if (!addons) throw new UserError('the HPA needs metrics-server, which this cluster does not serve', 'Install it (https://github.com/kubernetes-sigs/metrics-server), then rerun.', 3);
  if (!yes && !(await confirm('The HPA needs metrics-server. Enable the minikube addon now?'))) {
    throw new InputError('the HPA needs metrics-server, which is not enabled', 'Rerun with --yes to enable it, or run: minikube addons enable metrics-server');
  }
  await cluster.enableAddon('metrics-server');
  return { status: 'done', detail: sn.dryRun ? 'would be enabled' : 'enabled' };
}

/** Waits until each component has the replicas asked for ready and, behind a Service, as many endpoints; returns the state reached. */
async function waitForScale(sn: Session, components: string[], names: Record<string, string>, req: ScaleRequest, before: ScaleState): Promise<StepOutcome<ScaleState>> {
  const { tools: t, context } = sn;
  const ns = sn.config.settings.TASKFLOW_NAMESPACE;
  const withService = (c: string) => {
    const declared = sn.config.app.components[c];
    return declared !== undefined && hasService(declared);
  };
  const seen = { last: '' };
  const counts = await waitFor(
    async () => {
      const got: string[] = [];
      let ok = true;
      const counts: Record<string, number> = {};
      for (const c of components) {
        const name = names[c] as string;
        // A worker has no Service, so its ready pods are all there is to wait for.
        const [d, endpoints] = await Promise.all([t.kubectl.deployment(context, ns, name), withService(c) ? t.kubectl.endpointCount(context, ns, name) : Promise.resolve(undefined)]);
        const want = req.replicas[c] ?? d?.replicas ?? 0;
        counts[c] = d?.replicas ?? 0;
        got.push(`${c} ${d?.ready ?? 0}/${want} ready${endpoints === undefined ? '' : `, ${endpoints} endpoints`}`);
        if (!d || d.ready < want || (endpoints !== undefined && endpoints < want)) ok = false;
      }
      seen.last = got.join('; ');
      return ok ? counts : undefined;
    },
    {
      timeout: 300_000,
      interval: 2000,
      describe: 'the new replicas and their endpoints',
      onTimeout: (last) => new UserError(`not ready after 5 minutes: ${last}`, `kubectl --context ${context} -n ${ns} get pods`),
    },
    seen,
  );
  return { status: 'done', detail: seen.last, value: { replicas: counts, hpa: req.hpa ?? before.hpa } as ScaleState };
}
