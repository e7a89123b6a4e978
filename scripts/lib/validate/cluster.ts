// `validate` against a running release: readiness, volumes, endpoints, ingress, non-root pods,
// restart loops and image tags (pure checks over kubectl's objects), then the HTTP smoke workflow
// through a port-forward, and on request the persistence and self-heal drills (drills.ts).
import { hasService } from '../app/declaration.ts';
import type { CheckRecorder, CheckResult } from './checks.ts';
import { entryComponent } from '../app/components.ts';
import { persistenceDrill, selfHealDrill, tasksApiAnswers } from './drills.ts';
import { PrerequisiteError } from '../core/errors.ts';
import { componentOf } from '../core/names.ts';
import { expectedImages as imagesFor } from '../images/tag.ts';
import { httpClient } from '../core/http.ts';
import { freePort } from '../core/net.ts';
import { restartingInLoop, type ContainerStatusLite } from '../release/readiness.ts';
import type { Session } from '../core/session.ts';
import { formatSmokeStep, runSmoke } from './smoke.ts';
import { Supervisor } from '../tunnels/supervisor.ts';
import { planTunnels } from '../tunnels/tunnels.ts';
import type { KubeObject } from '../tools/kubectl.ts';

type PodSpecLite = {
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
  containers: { name: string; image: string; securityContext?: { runAsNonRoot?: boolean; runAsUser?: number } }[];
};

export type ClusterFacts = {
  objects: KubeObject[];
  /** Images setup would run now ("<app>-<component>:<content tag>"), by component. */
  expectedImages: Record<string, string>;
  ingressEnabled: boolean;
  /** When the objects were read (ms since the epoch): a restart counts as recent against it. */
  now: number;
};

const of = (objs: KubeObject[], kind: string) => objs.filter((o) => o.kind === kind);

/** One check's verdict before it is timed: the run adds how long reading the objects took. */
type Verdict = Omit<CheckResult, 'ms'>;

/** A check with nothing to report passes, and then says what it saw so the checklist shows the evidence. */
function verdict(name: string, details: string[], okDetail?: string): Verdict {
  return { name, ok: details.length === 0, details: details.length ? details : okDetail ? [okDetail] : [] };
}

/** Pure: one CheckResult per cluster check, each with the evidence of what failed. */
export function checkCluster(f: ClusterFacts): Verdict[] {
  // A pod that ran to completion (a Job's) has nothing left to check.
  const pods = of(f.objects, 'Pod').filter((p) => p.status?.phase !== 'Succeeded');
  return [
    deploymentsAvailable(f.objects),
    databaseReady(f.objects),
    servicesHaveEndpoints(f.objects),
    ingressPresent(f.objects, f.ingressEnabled),
    podsRunAsNonRoot(pods),
    noRestartLoops(pods, f.now),
    imagesFromSetup(pods, f.expectedImages),
  ];
}

/** Each Deployment has all its replicas ready: fewer means the app is not fully up. */
function deploymentsAvailable(objects: KubeObject[]): Verdict {
  const deployments = of(objects, 'Deployment');
  return verdict(
    'deployments available',
    deployments.length === 0
      ? ['no Deployment of the release was found']
      : deployments.flatMap((d) => {
          const want = Number(d.spec?.replicas ?? 1);
          const ready = Number(d.status?.readyReplicas ?? 0);
          return ready >= want ? [] : [`Deployment/${d.metadata.name}: ${ready}/${want} replicas ready`];
        }),
    deployments.map((d) => `${d.metadata.name} ${d.status?.readyReplicas ?? 0}/${d.spec?.replicas ?? 1}`).join(', '),
  );
}

/** The in-cluster database is ready and its claims are Bound, or its data would not survive a restart. */
function databaseReady(objects: KubeObject[]): Verdict {
  const sets = of(objects, 'StatefulSet');
  const pvcs = of(objects, 'PersistentVolumeClaim');
  return verdict(
    'database ready with its volume bound',
    sets.flatMap((s) => {
      const want = Number(s.spec?.replicas ?? 1);
      const ready = Number(s.status?.readyReplicas ?? 0);
      const problems = ready >= want ? [] : [`StatefulSet/${s.metadata.name}: ${ready}/${want} ready`];
      const mine = pvcs.filter((p) => p.metadata.name.includes(s.metadata.name));
      if (mine.length === 0) problems.push(`StatefulSet/${s.metadata.name}: no PersistentVolumeClaim found`);
      for (const p of mine) if (p.status?.phase !== 'Bound') problems.push(`PersistentVolumeClaim/${p.metadata.name}: ${String(p.status?.phase ?? 'unknown')}, not Bound`);
      return problems;
    }),
    sets.length ? pvcs.map((p) => `${p.metadata.name} Bound`).join(', ') : 'external database (no StatefulSet)',
  );
}

/** A Service without ready endpoints sends its traffic nowhere. */
function servicesHaveEndpoints(objects: KubeObject[]): Verdict {
  const endpoints = new Map(of(objects, 'Endpoints').map((e) => [e.metadata.name, (e.subsets ?? []).reduce((n, s) => n + (s.addresses?.length ?? 0), 0)]));
  const services = of(objects, 'Service');
  return verdict(
    'services have endpoints',
    services.flatMap((s) => ((endpoints.get(s.metadata.name) ?? 0) > 0 ? [] : [`Service/${s.metadata.name}: no ready endpoints`])),
    services.map((s) => `${s.metadata.name} ${endpoints.get(s.metadata.name) ?? 0}`).join(', '),
  );
}

/** Values that enable the ingress must have produced one, or the app is unreachable from outside. */
function ingressPresent(objects: KubeObject[], ingressEnabled: boolean): Verdict {
  const ingresses = of(objects, 'Ingress');
  return verdict(
    'ingress present',
    ingressEnabled && ingresses.length === 0 ? ['ingress is enabled in the values but no Ingress exists'] : [],
    ingressEnabled ? ingresses.map((i) => i.metadata.name).join(', ') : 'disabled in the values',
  );
}

/** Every container must run as a non-root user, set on the container or inherited from its pod. */
function podsRunAsNonRoot(pods: KubeObject[]): Verdict {
  return verdict(
    'pods run as non-root',
    pods.flatMap((p) => {
      const spec = p.spec as unknown as PodSpecLite;
      return spec.containers.flatMap((c) => {
        const nonRoot = c.securityContext?.runAsNonRoot ?? spec.securityContext?.runAsNonRoot;
        const uid = c.securityContext?.runAsUser ?? spec.securityContext?.runAsUser;
        return nonRoot === true && uid !== 0 ? [] : [`Pod/${p.metadata.name} container ${c.name}: runAsNonRoot ${String(nonRoot)}, runAsUser ${String(uid)}`];
      });
    }),
  );
}

/** A container in CrashLoopBackOff, or restarting often lately, is broken even while its pod looks ready. */
function noRestartLoops(pods: KubeObject[], now: number): Verdict {
  return verdict(
    'no container restarting in a loop',
    pods.flatMap((p) =>
      ((p.status?.containerStatuses ?? []) as ContainerStatusLite[]).flatMap((c) => {
        const reason = c.state?.waiting?.reason;
        const n = c.restartCount ?? 0;
        return reason === 'CrashLoopBackOff' || restartingInLoop(c, now) ? [`Pod/${p.metadata.name} container ${c.name}: ${n} restarts${reason ? `, ${reason}` : ''}`] : [];
      }),
    ),
  );
}

/** A pod running another image than setup would build now serves stale sources. */
function imagesFromSetup(pods: KubeObject[], expectedImages: Record<string, string>): Verdict {
  return verdict(
    'images are the ones setup built',
    pods.flatMap((p) => {
      const want = expectedImages[componentOf(p)];
      if (!want) return [];
      const spec = p.spec as unknown as PodSpecLite;
      return spec.containers.filter((c) => c.image !== want).map((c) => `Pod/${p.metadata.name}: runs ${c.image}, setup builds ${want} from the current sources (rerun setup)`);
    }),
    Object.values(expectedImages).join(', '),
  );
}

// ── the run against a cluster ────────────────────────────────────────────────────────────────

export type ClusterRunOptions = {
  /** Base URL to smoke-test instead of opening a port-forward (e.g. the ingress). */
  url?: string;
  /** false: the object checks only (pods not reachable from here, or CI). */
  http: boolean;
  persistence: boolean;
  selfHeal: boolean;
  log: (line: string) => void;
};

/** Runs the cluster checks, the smoke workflow and the drills asked for, into `checks`. */
export async function runClusterValidation(sn: Session, checks: CheckRecorder, o: ClusterRunOptions): Promise<void> {
  const t = sn.tools;
  const { context, scope } = sn;
  const { release, namespace: ns } = scope;
  if (!(await t.kubectl.contexts()).includes(context)) {
    throw new PrerequisiteError(`kube context ${context} does not exist, so there is no cluster to validate`, 'Run setup first, or validate --static to check without a cluster.');
  }
  if (!(await t.kubectl.ready(context))) {
    throw new PrerequisiteError(`the cluster behind context ${context} does not answer`, 'Start it with setup, or validate --static to check without a cluster.');
  }
  const info = await t.release.status(scope);
  if (!info) throw new PrerequisiteError(`release ${release} is not installed in namespace ${ns}`, 'Run setup first, or validate --static to check without a cluster.');

  const values = await t.release.values(scope);
  const ingressEnabled = ((values.ingress as { enabled?: boolean } | undefined)?.enabled ?? true) !== false;
  const started = Date.now();
  const objects = await t.kubectl.releaseObjects(context, ns, release);
  const ms = Date.now() - started;
  for (const r of checkCluster({ objects, expectedImages: imagesFor(sn.config), ingressEnabled, now: started })) checks.add({ ...r, ms });

  if (!o.http) return;
  // The HTTP checks go through the real access path: a port-forward opened for them, or the given URL.
  let supervisor: Supervisor | undefined;
  try {
    const app = sn.config.app;
    const entry = entryComponent(app);
    if (!entry) {
      checks.add({ name: 'HTTP checks', ok: true, details: ['no component has a port: nothing to reach over HTTP'], ms: 0 });
      return;
    }
    const entryPath = app.components[entry]?.probes?.readiness ?? '/';
    let base = o.url?.replace(/\/+$/, '');
    if (!base) {
      // One tunnel per component with a port: each must answer on its readiness path to come up.
      const ports: Record<string, number> = {};
      for (const [name, c] of Object.entries(app.components)) if (hasService(c)) ports[name] = await freePort();
      const tunnels = planTunnels(release, app, ports);
      supervisor = new Supervisor({ exec: sn.exec, context, namespace: ns, tunnels, log: o.log, verbose: sn.verbose });
      const answered: string[] = [];
      const t0 = Date.now();
      await supervisor.start((tn) => answered.push(`${tn.component} ${tn.healthPath}`));
      checks.add({ name: 'each component answers on its readiness path', ok: true, details: [answered.join(', ')], ms: Date.now() - t0 });
      base = `http://127.0.0.1:${ports[entry]}`;
    }
    const url = base;
    const tasksApi = app.smokeWorkflow === 'tasks-api';
    await checks.run(tasksApi ? 'HTTP smoke workflow' : `HTTP: ${entry} answers on ${entryPath}`, async () => {
      if (!tasksApi) {
        const r = await httpClient(url, 10_000)('GET', entryPath).catch((err: Error) => err);
        return r instanceof Error ? { ok: false, details: [`GET ${entryPath}: ${r.message}`] } : { ok: r.status === 200, details: [`GET ${entryPath} → ${r.status} via ${url}`] };
      }
      const report = await runSmoke(url, { healthPath: entryPath });
      const lines = report.steps.map(formatSmokeStep);
      return { ok: report.ok, details: report.ok ? [`${report.steps.length} steps in ${report.ms}ms via ${url}`, ...lines] : lines };
    });
    const target = { sn, url, objects, log: o.log };
    if (o.persistence) {
      if (!tasksApi) checks.add({ name: 'persistence', ok: false, details: ['the persistence drill writes a task through the reference API (smokeWorkflow: tasks-api in the declaration); this app does not declare it'], ms: 0 });
      else await checks.run('persistence: a task survives a database restart', () => persistenceDrill(target));
    }
    if (o.selfHeal) {
      // The component behind the entry that holds the app's state, else the entry itself.
      const victim = Object.entries(app.components).find(([, c]) => c.database && hasService(c))?.[0] ?? entry;
      const answers = tasksApi ? tasksApiAnswers : async (call: Parameters<typeof tasksApiAnswers>[0]) => (await call('GET', entryPath)).status === 200;
      await checks.run(`self-heal: a deleted ${victim} pod is replaced`, () => selfHealDrill(target, victim, answers));
    }
  } finally {
    await supervisor?.stop();
  }
}
