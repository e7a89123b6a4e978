// `scale`: changes replica counts or the HPA through `helm upgrade --reuse-values`, so Helm stays
// the source of truth and the next setup keeps the change; then waits for the pods and endpoints.
import { confirm } from './cli.ts';
import { InputError, UserError } from './errors.ts';
import { serviceName, type Component } from './names.ts';
import { chartDir, upgradeOrRollBack, type Values } from './release.ts';
import { hasResetThenReuse } from './tools/helm.ts';
import type { Session } from './session.ts';
import { waitFor } from './wait.ts';

export type ScaleRequest = { backend?: number; frontend?: number; hpa?: boolean };
export type ScaleState = { backend: number; frontend: number; hpa: boolean };

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
  if (hpaAfter && (req.backend !== undefined || req.frontend !== undefined)) {
    throw new InputError('the HPA is on, so it sets the replica counts', 'Turn it off in the same call (--hpa off --frontend 3), or change components.*.autoscaling.minReplicas/maxReplicas in the values.');
  }
  const set: string[] = [];
  const changes: string[] = [];
  for (const c of ['backend', 'frontend'] as const) {
    const want = req[c];
    if (want !== undefined && want !== current[c]) {
      set.push(`components.${c}.replicaCount=${want}`);
      changes.push(`${c} ${current[c]} → ${want}`);
    }
  }
  if (req.hpa !== undefined && req.hpa !== current.hpa) {
    set.push(`autoscaling.enabled=${req.hpa}`);
    changes.push(`HPA ${current.hpa ? 'on' : 'off'} → ${req.hpa ? 'on' : 'off'}`);
  }
  return { set, changes };
}

export type ScaleOptions = {
  /** Raw flag values, validated after the configuration (the maximum lives there). */
  raw: { backend?: string; frontend?: string; hpa?: string };
  yes: boolean;
  timeout: string;
};

/** Every flag checked before any process runs. */
export function parseRequest(raw: ScaleOptions['raw'], maxReplicas: number): ScaleRequest {
  const req: ScaleRequest = {};
  if (raw.backend !== undefined) req.backend = parseReplicas('backend', raw.backend, maxReplicas);
  if (raw.frontend !== undefined) req.frontend = parseReplicas('frontend', raw.frontend, maxReplicas);
  if (raw.hpa !== undefined) req.hpa = parseHpa(raw.hpa);
  if (Object.keys(req).length === 0) throw new InputError('nothing to scale', 'Give --frontend N, --backend N or --hpa on|off (see --help).');
  return req;
}

const onOff = (b: boolean) => (b ? 'on' : 'off');

export async function runScale(sn: Session, opts: ScaleOptions): Promise<number> {
  const { ui, cluster, tools: t, context, scope } = sn;
  const s = sn.config.settings;
  const ns = s.TASKFLOW_NAMESPACE;
  const req = parseRequest(opts.raw, s.TASKFLOW_MAX_REPLICAS);
  const names = { backend: serviceName(s.TASKFLOW_RELEASE, 'backend'), frontend: serviceName(s.TASKFLOW_RELEASE, 'frontend') };

  try {
    const { before, helm } = await ui.step('release', async () => {
      if (!(await t.kubectl.contexts()).includes(context)) throw new UserError(`kube context ${context} does not exist`, 'Run setup first.', 3);
      const info = await t.release.status(scope);
      if (!info) throw new UserError(`release ${s.TASKFLOW_RELEASE} is not installed in namespace ${ns}`, 'Run setup first.', 3);
      if (info.status !== 'deployed') throw new UserError(`release ${s.TASKFLOW_RELEASE} is ${info.status}`, 'Run setup to bring it back to a deployed state, then scale.');
      const [version, values, backend, frontend] = await Promise.all([
        t.helm.version(),
        t.release.values(scope),
        t.kubectl.deployment(context, ns, names.backend),
        t.kubectl.deployment(context, ns, names.frontend),
      ]);
      const state: ScaleState = { backend: backend?.replicas ?? 0, frontend: frontend?.replicas ?? 0, hpa: Boolean(((values.autoscaling ?? {}) as Values).enabled) };
      return {
        status: 'skipped',
        detail: `revision ${info.revision}: backend ${state.backend}, frontend ${state.frontend}, HPA ${onOff(state.hpa)}`,
        value: { before: state, helm: version },
      };
    });
    const plan = planScale(before, req);

    if (plan.set.length === 0) {
      ui.info(`Already at the requested scale (backend ${before.backend}, frontend ${before.frontend}, HPA ${onOff(before.hpa)}); nothing to do.`);
      ui.finish({ before, after: before, changed: false });
      return 0;
    }

    if (req.hpa === true && !before.hpa) {
      await ui.step('metrics-server', async () => {
        const addons = await cluster.addons();
        const available = addons ? addons['metrics-server'] === true : await t.kubectl.metricsApiAvailable(context);
        if (available) return { status: 'skipped', detail: 'available' };
        if (!addons) throw new UserError('the HPA needs metrics-server, which this cluster does not serve', 'Install it (https://github.com/kubernetes-sigs/metrics-server), then rerun.', 3);
        if (!opts.yes && !(await confirm('The HPA needs metrics-server. Enable the minikube addon now?'))) {
          throw new InputError('the HPA needs metrics-server, which is not enabled', 'Rerun with --yes to enable it, or run: minikube addons enable metrics-server');
        }
        await cluster.enableAddon('metrics-server');
        return { status: 'done', detail: sn.dryRun ? 'would be enabled' : 'enabled' };
      });
    }

    await ui.step(`scale: ${plan.changes.join(', ')}`, async () => {
      await upgradeOrRollBack(sn, () => t.release.setValues({ ...scope, chart: chartDir(sn.root), set: plan.set, timeout: opts.timeout, helm }), { helm, timeout: opts.timeout, rerun: 'rerun scale' });
      const how = hasResetThenReuse(helm) ? '--reset-then-reuse-values' : "the release's values (helm get values)";
      return { status: 'done', detail: sn.dryRun ? `would upgrade with ${how}` : `upgraded with ${how}` };
    });

    if (sn.dryRun) {
      ui.finish({ before, changed: false });
      return 0;
    }

    const after = await ui.step('pods and endpoints ready', async () => {
      const seen = { last: '' };
      const counts = await waitFor(
        async () => {
          const got: string[] = [];
          let ok = true;
          const counts: Record<Component, number> = { backend: 0, frontend: 0 };
          for (const c of ['backend', 'frontend'] as const) {
            const [d, endpoints] = await Promise.all([t.kubectl.deployment(context, ns, names[c]), t.kubectl.endpointCount(context, ns, names[c])]);
            const want = req[c] ?? d?.replicas ?? 0;
            counts[c] = d?.replicas ?? 0;
            got.push(`${c} ${d?.ready ?? 0}/${want} ready, ${endpoints} endpoints`);
            if (!d || d.ready < want || endpoints < want) ok = false;
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
      return { status: 'done', detail: seen.last, value: { ...counts, hpa: req.hpa ?? before.hpa } };
    });
    ui.info(`before: backend ${before.backend}, frontend ${before.frontend}, HPA ${onOff(before.hpa)}`);
    ui.info(`after:  backend ${after.backend}, frontend ${after.frontend}, HPA ${onOff(after.hpa)}`);
    ui.finish({ before, after, changed: true });
    return 0;
  } catch (err) {
    ui.finish({ error: (err as Error).message.split('\n')[0] });
    throw err;
  }
}
