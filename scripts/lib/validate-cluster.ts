// `validate` against a running release: readiness, volumes, endpoints, ingress, non-root pods,
// restart loops and image tags (pure checks over kubectl's objects), then the HTTP smoke workflow
// through a port-forward, and on request the persistence and self-heal drills.
import type { Config } from './config.ts';
import { PrerequisiteError } from './errors.ts';
import type { Exec } from './exec.ts';
import { expectedImages as imagesFor } from './images.ts';
import { freePort } from './net.ts';
import { Supervisor } from './supervisor.ts';
import { planTunnels } from './tunnels.ts';
import { makeCluster } from './cluster.ts';
import { makeTools } from './tools/index.ts';
import { runSmoke } from './smoke.ts';
import type { CheckResult } from './validate-static.ts';
import type { KubeObject } from './tools/kubectl.ts';

type PodSpecLite = {
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
  containers: { name: string; image: string; securityContext?: { runAsNonRoot?: boolean; runAsUser?: number } }[];
};
type ContainerStatus = { name: string; restartCount?: number; state?: { waiting?: { reason?: string } } };

export type ClusterFacts = {
  objects: KubeObject[];
  /** Images setup would run now ("taskflow-backend:<content tag>"), by component. */
  expectedImages: Record<string, string>;
  ingressEnabled: boolean;
};

/** Restarts above this, or a CrashLoopBackOff, count as a restart loop. */
export const RESTART_LOOP_THRESHOLD = 3;

const of = (objs: KubeObject[], kind: string) => objs.filter((o) => o.kind === kind);
const component = (o: KubeObject) => o.metadata.labels?.['app.kubernetes.io/component'] ?? '';

/** Pure: one CheckResult per cluster check, each with the evidence of what failed. */
export function checkCluster(f: ClusterFacts): Omit<CheckResult, 'ms'>[] {
  const out: Omit<CheckResult, 'ms'>[] = [];
  const add = (name: string, details: string[], okDetail?: string) =>
    out.push({ name, ok: details.length === 0, details: details.length ? details : okDetail ? [okDetail] : [] });

  const deployments = of(f.objects, 'Deployment');
  add(
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

  const sets = of(f.objects, 'StatefulSet');
  const pvcs = of(f.objects, 'PersistentVolumeClaim');
  add(
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

  const endpoints = new Map(of(f.objects, 'Endpoints').map((e) => [e.metadata.name, (e.subsets ?? []).reduce((n, s) => n + (s.addresses?.length ?? 0), 0)]));
  const services = of(f.objects, 'Service');
  add(
    'services have endpoints',
    services.flatMap((s) => ((endpoints.get(s.metadata.name) ?? 0) > 0 ? [] : [`Service/${s.metadata.name}: no ready endpoints`])),
    services.map((s) => `${s.metadata.name} ${endpoints.get(s.metadata.name) ?? 0}`).join(', '),
  );

  const ingresses = of(f.objects, 'Ingress');
  add(
    'ingress present',
    f.ingressEnabled && ingresses.length === 0 ? ['ingress is enabled in the values but no Ingress exists'] : [],
    f.ingressEnabled ? ingresses.map((i) => i.metadata.name).join(', ') : 'disabled in the values',
  );

  const pods = of(f.objects, 'Pod').filter((p) => p.status?.phase !== 'Succeeded');
  add(
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

  add(
    'no container restarting in a loop',
    pods.flatMap((p) =>
      ((p.status?.containerStatuses ?? []) as ContainerStatus[]).flatMap((c) => {
        const reason = c.state?.waiting?.reason;
        const n = c.restartCount ?? 0;
        return reason === 'CrashLoopBackOff' || n > RESTART_LOOP_THRESHOLD ? [`Pod/${p.metadata.name} container ${c.name}: ${n} restarts${reason ? `, ${reason}` : ''}`] : [];
      }),
    ),
  );

  add(
    'images are the ones setup built',
    pods.flatMap((p) => {
      const want = f.expectedImages[component(p)];
      if (!want) return [];
      const spec = p.spec as unknown as PodSpecLite;
      return spec.containers.filter((c) => c.image !== want).map((c) => `Pod/${p.metadata.name}: runs ${c.image}, setup builds ${want} from the current sources (rerun setup)`);
    }),
    Object.values(f.expectedImages).join(', '),
  );
  return out;
}

// ── the run against a cluster ────────────────────────────────────────────────────────────────

export type ClusterRunOptions = {
  config: Config;
  exec: Exec;
  helmBin: string;
  /** Base URL to smoke-test instead of opening a port-forward (e.g. the ingress). */
  url?: string;
  persistence: boolean;
  selfHeal: boolean;
  verbose: boolean;
  onResult: (r: CheckResult) => void;
  log: (line: string) => void;
};

async function timed(name: string, body: () => Promise<{ ok: boolean; details: string[] }>, onResult: (r: CheckResult) => void): Promise<CheckResult> {
  const started = Date.now();
  let r: CheckResult;
  try {
    r = { name, ...(await body()), ms: Date.now() - started };
  } catch (err) {
    r = { name, ok: false, details: [(err as Error).message], ms: Date.now() - started };
  }
  onResult(r);
  return r;
}

const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

async function api(base: string, method: string, path: string, token?: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${base}/api/v1${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, json };
}

/** Runs the cluster checks, the smoke workflow and the drills asked for; returns every result. */
export async function runClusterValidation(o: ClusterRunOptions): Promise<CheckResult[]> {
  const s = o.config.settings;
  const t = makeTools(o.exec, o.helmBin);
  const cluster = makeCluster(o.config, t);
  const context = s.TASKFLOW_KUBE_CONTEXT || cluster.context;
  const ns = s.TASKFLOW_NAMESPACE;
  const scope = { release: s.TASKFLOW_RELEASE, namespace: ns, context };
  if (!(await t.kubectl.contexts()).includes(context)) {
    throw new PrerequisiteError(`kube context ${context} does not exist, so there is no cluster to validate`, 'Run setup first, or validate --static to check without a cluster.');
  }
  if (!(await t.kubectl.ready(context))) {
    throw new PrerequisiteError(`the cluster behind context ${context} does not answer`, 'Start it with setup, or validate --static to check without a cluster.');
  }
  const info = await t.release.status(scope);
  if (!info) throw new PrerequisiteError(`release ${s.TASKFLOW_RELEASE} is not installed in namespace ${ns}`, 'Run setup first, or validate --static to check without a cluster.');

  const results: CheckResult[] = [];
  const values = await t.release.values(scope);
  const ingressEnabled = ((values.ingress as { enabled?: boolean } | undefined)?.enabled ?? true) !== false;
  const expectedImages = imagesFor(o.config);
  const started = Date.now();
  const objects = await t.kubectl.releaseObjects(context, ns, s.TASKFLOW_RELEASE);
  for (const r of checkCluster({ objects, expectedImages, ingressEnabled })) {
    const full = { ...r, ms: Date.now() - started };
    results.push(full);
    o.onResult(full);
  }

  // The HTTP checks go through the real access path: a port-forward opened for them, or the given URL.
  let supervisor: Supervisor | undefined;
  try {
    let base = o.url?.replace(/\/+$/, '');
    if (!base) {
      const ports = { frontend: await freePort(), backend: await freePort() };
      supervisor = new Supervisor({ exec: o.exec, context, namespace: ns, tunnels: planTunnels(s.TASKFLOW_RELEASE, ports), log: o.log, verbose: o.verbose });
      await supervisor.start(() => {});
      base = `http://127.0.0.1:${ports.frontend}`;
    }
    const url = base;
    results.push(
      await timed('HTTP smoke workflow', async () => {
        const report = await runSmoke(url, { healthPath: '/api/health' });
        const lines = report.steps.map((st) => `${st.ok ? '✔' : '✖'} ${st.name} ${st.ms}ms${st.evidence ? `: ${st.evidence}` : ''}`);
        return { ok: report.ok, details: report.ok ? [`${report.steps.length} steps in ${report.ms}ms via ${url}`, ...lines] : lines };
      }, o.onResult),
    );

    if (o.persistence) {
      results.push(
        await timed('persistence: a task survives a database restart', async () => {
          if (!objects.some((x) => x.kind === 'StatefulSet')) return { ok: true, details: ['external database: nothing in the cluster to restart'] };
          const email = `persist-${Date.now()}@example.com`;
          const signup = await api(url, 'POST', '/auth/signup', undefined, { email, password: 'persist-Password-1', name: 'Persist' });
          if (signup.status !== 201) return { ok: false, details: [`sign up → ${signup.status}`] };
          const token = (signup.json as { access_token: string }).access_token;
          const title = `persisted ${Date.now()}`;
          const created = await api(url, 'POST', '/tasks', token, { title });
          if (created.status !== 201) return { ok: false, details: [`create task → ${created.status}`] };
          const pod = objects.find((x) => x.kind === 'Pod' && component(x) === 'postgresql');
          if (!pod) return { ok: false, details: ['no database pod found'] };
          await t.kubectl.deletePod(context, ns, pod.metadata.name);
          o.log(`  deleted ${pod.metadata.name}; waiting for it to come back…`);
          const deadline = Date.now() + 180_000;
          let last = '';
          await sleep(2000);
          while (Date.now() < deadline) {
            const sts = (await t.kubectl.releaseObjects(context, ns, s.TASKFLOW_RELEASE)).find((x) => x.kind === 'StatefulSet');
            if (Number(sts?.status?.readyReplicas ?? 0) >= 1) {
              const list = await api(url, 'GET', '/tasks', token).catch((err: Error) => ({ status: 0, json: err.message }));
              last = `GET /tasks → ${list.status}`;
              if (list.status === 200 && Array.isArray(list.json) && (list.json as { title: string }[]).some((x) => x.title === title)) {
                return { ok: true, details: [`${pod.metadata.name} restarted and the task was read back`] };
              }
            } else last = 'database not ready yet';
            await sleep(2000);
          }
          return { ok: false, details: [`the task was not read back within 3 minutes (last: ${last})`] };
        }, o.onResult),
      );
    }

    if (o.selfHeal) {
      results.push(
        await timed('self-heal: a deleted backend pod is replaced', async () => {
          const before = (await t.kubectl.releaseObjects(context, ns, s.TASKFLOW_RELEASE)).filter((x) => x.kind === 'Pod' && component(x) === 'backend');
          const victim = before[0];
          if (!victim) return { ok: false, details: ['no backend pod found'] };
          const oldNames = new Set(before.map((p) => p.metadata.name));
          await t.kubectl.deletePod(context, ns, victim.metadata.name);
          o.log(`  deleted ${victim.metadata.name}; sending requests until a replacement is ready…`);
          let okCount = 0;
          let failed = 0;
          const deadline = Date.now() + 180_000;
          while (Date.now() < deadline) {
            // Through the frontend → backend Service; 401 without a token proves the backend answered.
            const r = await api(url, 'GET', '/auth/me').catch(() => ({ status: 0, json: null }));
            if (r.status === 401) okCount++;
            else failed++;
            const pods = (await t.kubectl.releaseObjects(context, ns, s.TASKFLOW_RELEASE)).filter((x) => x.kind === 'Pod' && component(x) === 'backend');
            const replacement = pods.find((p) => !oldNames.has(p.metadata.name) && ((p.status?.conditions ?? []) as { type: string; status: string }[]).some((c) => c.type === 'Ready' && c.status === 'True'));
            if (replacement) {
              const detail = `${replacement.metadata.name} ready; ${okCount} requests answered, ${failed} failed meanwhile`;
              if (failed > 0 && before.length > 1) return { ok: false, details: [detail] };
              return { ok: true, details: [failed > 0 ? `${detail} (one replica: scale --backend 2 for no downtime)` : detail] };
            }
            await sleep(250);
          }
          return { ok: false, details: [`no replacement ready within 3 minutes (${okCount} ok, ${failed} failed requests)`] };
        }, o.onResult),
      );
    }
  } finally {
    await supervisor?.stop();
  }
  return results;
}
