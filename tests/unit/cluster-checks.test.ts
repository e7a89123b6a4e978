// checkCluster, the pure half of `validate` against a running release: kubectl's objects in, one
// verdict per check out, each failure with the evidence that names the object and what is wrong.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { BACKOFF_RESET_MS, notReady, RESTART_LOOP_THRESHOLD } from '../../scripts/lib/release/readiness.ts';
import { checkCluster, type ClusterFacts } from '../../scripts/lib/validate/cluster.ts';
import type { KubeObject } from '../../scripts/lib/tools/kubectl.ts';

const BACKEND_IMAGE = 'taskflow-backend:0a1b2c3d';
/** When the fixtures' objects were read. */
const NOW = Date.parse('2025-03-01T12:00:00Z');
const FRONTEND_IMAGE = 'taskflow-frontend:4e5f6a7b';

const labels = (component: string) => ({ 'app.kubernetes.io/instance': 'demo', 'app.kubernetes.io/component': component });

function pod(name: string, component: string, image: string, uid: number, extra: Partial<KubeObject> = {}): KubeObject {
  return {
    kind: 'Pod',
    metadata: { name, labels: labels(component) },
    spec: { securityContext: { runAsNonRoot: true, runAsUser: uid }, containers: [{ name: component, image }] },
    status: { phase: 'Running', containerStatuses: [{ name: component, restartCount: 0, state: { running: {} } }] },
    ...extra,
  };
}

/** A healthy release as kubectl would list it: two Deployments, the database, Services, Ingress, pods. */
function healthy(): KubeObject[] {
  return [
    { kind: 'Deployment', metadata: { name: 'demo-taskflow-backend', labels: labels('backend') }, spec: { replicas: 2 }, status: { readyReplicas: 2 } },
    { kind: 'Deployment', metadata: { name: 'demo-taskflow-frontend', labels: labels('frontend') }, spec: { replicas: 1 }, status: { readyReplicas: 1 } },
    { kind: 'StatefulSet', metadata: { name: 'demo-taskflow-postgresql', labels: labels('postgresql') }, spec: { replicas: 1 }, status: { readyReplicas: 1 } },
    { kind: 'PersistentVolumeClaim', metadata: { name: 'data-demo-taskflow-postgresql-0', labels: labels('postgresql') }, status: { phase: 'Bound' } },
    ...['backend', 'frontend', 'postgresql'].flatMap((c): KubeObject[] => [
      { kind: 'Service', metadata: { name: `demo-taskflow-${c}`, labels: labels(c) }, spec: {} },
      { kind: 'Endpoints', metadata: { name: `demo-taskflow-${c}`, labels: labels(c) }, subsets: [{ addresses: [{ ip: '10.0.0.1' }] }] },
    ]),
    { kind: 'Ingress', metadata: { name: 'demo-taskflow', labels: labels('frontend') }, spec: {} },
    pod('demo-taskflow-backend-7d9f-aaaaa', 'backend', BACKEND_IMAGE, 1000),
    pod('demo-taskflow-backend-7d9f-bbbbb', 'backend', BACKEND_IMAGE, 1000),
    pod('demo-taskflow-frontend-5c6d-ccccc', 'frontend', FRONTEND_IMAGE, 1001),
    pod('demo-taskflow-postgresql-0', 'postgresql', 'postgres:16-alpine', 70),
  ];
}

/** The facts of a healthy release, after `edit` has broken something in its objects. */
function facts(edit: (objs: KubeObject[]) => void = () => {}, over: Partial<ClusterFacts> = {}): ClusterFacts {
  const objects = healthy();
  edit(objects);
  return { objects, expectedImages: { backend: BACKEND_IMAGE, frontend: FRONTEND_IMAGE }, ingressEnabled: true, now: NOW, ...over };
}

function named(objs: KubeObject[], kind: string, name: string): KubeObject {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`fixture has no ${kind}/${name}`);
  return o;
}

function drop(objs: KubeObject[], kind: string, name?: string): void {
  for (let i = objs.length - 1; i >= 0; i--) if (objs[i]?.kind === kind && (name === undefined || objs[i]?.metadata.name === name)) objs.splice(i, 1);
}

/** The verdict of one check; fails the test if checkCluster no longer reports a check by that name. */
function verdict(f: ClusterFacts, name: string): { ok: boolean; details: string[] } {
  const results = checkCluster(f);
  const r = results.find((x) => x.name === name);
  if (!r) throw new Error(`no check named "${name}" among: ${results.map((x) => x.name).join(', ')}`);
  return { ok: r.ok, details: r.details };
}

const Cluster = suite('cluster checks');

Cluster('a healthy release passes every check', () => {
  assert.equal(checkCluster(facts()).filter((r) => !r.ok), []);
});

// ── deployments available ────────────────────────────────────────────────────────────────────

Cluster('available Deployments pass, each listed with its ready count', () => {
  assert.equal(verdict(facts(), 'deployments available'), { ok: true, details: ['demo-taskflow-backend 2/2, demo-taskflow-frontend 1/1'] });
});

Cluster('a Deployment with fewer ready replicas than asked for fails with both counts', () => {
  const f = facts((o) => (named(o, 'Deployment', 'demo-taskflow-backend').status = { readyReplicas: 1 }));
  assert.equal(verdict(f, 'deployments available'), { ok: false, details: ['Deployment/demo-taskflow-backend: 1/2 replicas ready'] });
});

Cluster('a Deployment whose status has no readyReplicas counts as none ready', () => {
  const f = facts((o) => (named(o, 'Deployment', 'demo-taskflow-frontend').status = {}));
  assert.equal(verdict(f, 'deployments available').details, ['Deployment/demo-taskflow-frontend: 0/1 replicas ready']);
});

Cluster('a release without any Deployment fails', () => {
  const f = facts((o) => drop(o, 'Deployment'));
  assert.equal(verdict(f, 'deployments available'), { ok: false, details: ['no Deployment of the release was found'] });
});

// ── database ready with its volume bound ─────────────────────────────────────────────────────

Cluster('a ready database with a Bound claim passes, naming the claim', () => {
  assert.equal(verdict(facts(), 'database ready with its volume bound'), { ok: true, details: ['data-demo-taskflow-postgresql-0 Bound'] });
});

Cluster('a database StatefulSet that is not ready fails with its counts', () => {
  const f = facts((o) => (named(o, 'StatefulSet', 'demo-taskflow-postgresql').status = { readyReplicas: 0 }));
  assert.equal(verdict(f, 'database ready with its volume bound'), { ok: false, details: ['StatefulSet/demo-taskflow-postgresql: 0/1 ready'] });
});

Cluster('a database claim that is not Bound fails, naming the claim and its phase', () => {
  const f = facts((o) => (named(o, 'PersistentVolumeClaim', 'data-demo-taskflow-postgresql-0').status = { phase: 'Pending' }));
  assert.equal(verdict(f, 'database ready with its volume bound'), { ok: false, details: ['PersistentVolumeClaim/data-demo-taskflow-postgresql-0: Pending, not Bound'] });
});

Cluster('a database StatefulSet without any claim fails', () => {
  const f = facts((o) => drop(o, 'PersistentVolumeClaim'));
  assert.equal(verdict(f, 'database ready with its volume bound'), { ok: false, details: ['StatefulSet/demo-taskflow-postgresql: no PersistentVolumeClaim found'] });
});

Cluster('with an external database (no StatefulSet) the database check passes and says so', () => {
  const f = facts((o) => {
    drop(o, 'StatefulSet');
    drop(o, 'PersistentVolumeClaim');
  });
  assert.equal(verdict(f, 'database ready with its volume bound'), { ok: true, details: ['external database (no StatefulSet)'] });
});

// ── services have endpoints ──────────────────────────────────────────────────────────────────

Cluster('Services with ready addresses pass, each listed with its address count', () => {
  assert.equal(verdict(facts(), 'services have endpoints'), { ok: true, details: ['demo-taskflow-backend 1, demo-taskflow-frontend 1, demo-taskflow-postgresql 1'] });
});

Cluster('a Service whose Endpoints hold no ready address fails, naming the Service', () => {
  const f = facts((o) => (named(o, 'Endpoints', 'demo-taskflow-backend').subsets = [{ addresses: [] }]));
  assert.equal(verdict(f, 'services have endpoints'), { ok: false, details: ['Service/demo-taskflow-backend: no ready endpoints'] });
});

Cluster('a Service without an Endpoints object fails', () => {
  const f = facts((o) => drop(o, 'Endpoints', 'demo-taskflow-frontend'));
  assert.equal(verdict(f, 'services have endpoints'), { ok: false, details: ['Service/demo-taskflow-frontend: no ready endpoints'] });
});

// ── ingress present ──────────────────────────────────────────────────────────────────────────

Cluster('an enabled ingress that exists passes, naming it', () => {
  assert.equal(verdict(facts(), 'ingress present'), { ok: true, details: ['demo-taskflow'] });
});

Cluster('an ingress enabled in the values but missing from the cluster fails', () => {
  const f = facts((o) => drop(o, 'Ingress'));
  assert.equal(verdict(f, 'ingress present'), { ok: false, details: ['ingress is enabled in the values but no Ingress exists'] });
});

Cluster('an ingress disabled in the values passes without any Ingress', () => {
  const f = facts((o) => drop(o, 'Ingress'), { ingressEnabled: false });
  assert.equal(verdict(f, 'ingress present'), { ok: true, details: ['disabled in the values'] });
});

// ── pods run as non-root ─────────────────────────────────────────────────────────────────────

Cluster('a container running as uid 0 fails, naming the pod and the container', () => {
  const f = facts((o) => o.push(pod('demo-taskflow-backend-7d9f-rooty', 'backend', BACKEND_IMAGE, 0)));
  assert.equal(verdict(f, 'pods run as non-root'), { ok: false, details: ['Pod/demo-taskflow-backend-7d9f-rooty container backend: runAsNonRoot true, runAsUser 0'] });
});

Cluster('a pod that does not set runAsNonRoot fails, even with a non-zero uid', () => {
  const p = pod('demo-taskflow-frontend-5c6d-loose', 'frontend', FRONTEND_IMAGE, 1001);
  p.spec = { securityContext: { runAsUser: 1001 }, containers: [{ name: 'frontend', image: FRONTEND_IMAGE }] };
  const f = facts((o) => o.push(p));
  assert.equal(verdict(f, 'pods run as non-root').details, ['Pod/demo-taskflow-frontend-5c6d-loose container frontend: runAsNonRoot undefined, runAsUser 1001']);
});

Cluster("a container's own securityContext overrides the pod's", () => {
  const p = pod('demo-taskflow-backend-7d9f-over', 'backend', BACKEND_IMAGE, 1000);
  p.spec = { securityContext: { runAsNonRoot: true, runAsUser: 1000 }, containers: [{ name: 'backend', image: BACKEND_IMAGE, securityContext: { runAsUser: 0 } }] };
  const f = facts((o) => o.push(p));
  assert.equal(verdict(f, 'pods run as non-root').details, ['Pod/demo-taskflow-backend-7d9f-over container backend: runAsNonRoot true, runAsUser 0']);
});

Cluster('a finished pod (a completed migration Job) is not checked', () => {
  const f = facts((o) => o.push(pod('demo-taskflow-migrate-xyz', 'migrations', 'python:3.12', 0, { status: { phase: 'Succeeded' } })));
  assert.ok(verdict(f, 'pods run as non-root').ok);
});

// ── no container restarting in a loop ────────────────────────────────────────────────────────

const restarting = (restartCount: number, reason?: string) =>
  facts((o) => (named(o, 'Pod', 'demo-taskflow-frontend-5c6d-ccccc').status = { phase: 'Running', containerStatuses: [{ name: 'frontend', restartCount, state: reason ? { waiting: { reason } } : { running: {} } }] }));

Cluster('a container in CrashLoopBackOff fails however few its restarts', () => {
  assert.equal(verdict(restarting(1, 'CrashLoopBackOff'), 'no container restarting in a loop'), {
    ok: false,
    details: ['Pod/demo-taskflow-frontend-5c6d-ccccc container frontend: 1 restarts, CrashLoopBackOff'],
  });
});

Cluster('restarts above the threshold fail, and exactly the threshold passes', () => {
  assert.ok(verdict(restarting(RESTART_LOOP_THRESHOLD), 'no container restarting in a loop').ok);
  assert.equal(verdict(restarting(RESTART_LOOP_THRESHOLD + 1), 'no container restarting in a loop'), {
    ok: false,
    details: [`Pod/demo-taskflow-frontend-5c6d-ccccc container frontend: ${RESTART_LOOP_THRESHOLD + 1} restarts`],
  });
});

/** The frontend container with `restartCount` restarts, ready or not, its last instance ended `agoMs` before NOW. */
const restarted = (restartCount: number, ready: boolean, agoMs: number) =>
  facts((o) => {
    named(o, 'Pod', 'demo-taskflow-frontend-5c6d-ccccc').status = {
      phase: 'Running',
      containerStatuses: [
        { name: 'frontend', ready, restartCount, state: { running: {} }, lastState: { terminated: { exitCode: 1, reason: 'Error', finishedAt: new Date(NOW - agoMs).toISOString() } } },
      ],
    };
  });
const LOOP = 'no container restarting in a loop';
const HOUR = 60 * 60_000;

Cluster('a ready container whose restarts are older than the back-off reset window passes (the count never resets)', () => {
  const f = restarted(RESTART_LOOP_THRESHOLD + 2, true, HOUR);
  assert.ok(verdict(f, LOOP).ok);
  assert.equal(notReady(f.objects, f.now), []);
});

Cluster('a container that is not ready with restarts above the threshold fails, however old its last restart', () => {
  const f = restarted(RESTART_LOOP_THRESHOLD + 2, false, HOUR);
  assert.equal(verdict(f, LOOP), { ok: false, details: [`Pod/demo-taskflow-frontend-5c6d-ccccc container frontend: ${RESTART_LOOP_THRESHOLD + 2} restarts`] });
  assert.equal(notReady(f.objects, f.now), [`Pod/demo-taskflow-frontend-5c6d-ccccc: restarting, ${RESTART_LOOP_THRESHOLD + 2} restarts`]);
});

Cluster('a ready container that last restarted 2 minutes ago fails: it is between back-offs', () => {
  const f = restarted(RESTART_LOOP_THRESHOLD + 2, true, 2 * 60_000);
  assert.equal(verdict(f, LOOP).ok, false);
  assert.equal(notReady(f.objects, f.now), [`Pod/demo-taskflow-frontend-5c6d-ccccc: restarting, ${RESTART_LOOP_THRESHOLD + 2} restarts`]);
  // Just past the window it is history.
  assert.ok(verdict(restarted(RESTART_LOOP_THRESHOLD + 2, true, BACKOFF_RESET_MS + 1000), LOOP).ok);
});

// ── images are the ones setup built ──────────────────────────────────────────────────────────

Cluster('pods running the images setup builds pass, listing those images', () => {
  assert.equal(verdict(facts(), 'images are the ones setup built'), { ok: true, details: [`${BACKEND_IMAGE}, ${FRONTEND_IMAGE}`] });
});

Cluster('a pod running another image than setup builds fails with both references and the fix', () => {
  const f = facts((o) => o.push(pod('demo-taskflow-backend-6b8e-stale', 'backend', 'taskflow-backend:ffffffff', 1000)));
  assert.equal(verdict(f, 'images are the ones setup built'), {
    ok: false,
    details: [`Pod/demo-taskflow-backend-6b8e-stale: runs taskflow-backend:ffffffff, setup builds ${BACKEND_IMAGE} from the current sources (rerun setup)`],
  });
});

Cluster('pods of components setup does not build (the database) are not compared', () => {
  // The fixture's database pod runs postgres:16-alpine, which is in no expectation.
  const f = facts((o) => (named(o, 'Pod', 'demo-taskflow-postgresql-0').spec = { securityContext: { runAsNonRoot: true, runAsUser: 70 }, containers: [{ name: 'postgresql', image: 'postgres:17' }] }));
  assert.ok(verdict(f, 'images are the ones setup built').ok);
});

Cluster.run();
