// status as a real process against the fake CLIs: one read-only screen of the cluster, the release,
// each declared component (replicas, restarts, endpoints, image against the source's), the access
// URLs and the port-forward; --json for machines, --watch until Ctrl+C, exit 3 with nothing to read.
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { loadApp } from '../../scripts/lib/app/declaration.ts';
import { componentStatus } from '../../scripts/lib/release/component-status.ts';
import type { StatusReport } from '../../scripts/lib/status/screen.ts';
import type { KubeObject } from '../../scripts/lib/tools/kubectl.ts';
import { waitFor } from '../../scripts/lib/core/wait.ts';
import { root } from '../lib/chart.ts';
import { collect, describeCalls, FakeMachine, mutating } from '../lib/fake-machine.ts';

const Status = suite('status');
const machines: FakeMachine[] = [];

async function deployed(): Promise<FakeMachine> {
  const m = await FakeMachine.deployed();
  machines.push(m);
  return m;
}

/** The table row of one component on the human screen. */
const row = (stdout: string, component: string) => stdout.split('\n').find((l) => l.startsWith(`${component} `)) ?? '';

/** The components env/app.yaml declares: what the screen must list, whatever they are called. */
const declared = Object.keys(loadApp(root, {}).components);

Status('a freshly deployed release shows every declared component ready, with the image the source gives', async () => {
  const m = await deployed();
  const r = await m.run('status.ts');
  assert.is(r.code, 0, r.output);
  assert.match(r.stdout, /cluster {4}minikube taskflow: running/);
  assert.match(r.stdout, /release {4}taskflow in taskflow: revision 1, deployed, chart taskflow-\d+\.\d+\.\d+/);
  for (const name of declared) {
    const line = row(r.stdout, name);
    assert.match(line, /^\S+\s+1\/1\s+0\s+1\s+([0-9a-f]{12})\s+\1$/, `${name}: ${line}`);
  }
  assert.equal(describeCalls(mutating(m.calls())), []);
});

Status('an image older than the source is marked stale, the others are not', async () => {
  const m = await deployed();
  appendFileSync(join(m.frontendDir, 'app', 'page.tsx'), '\n// changed after setup\n');
  const r = await m.run('status.ts');
  assert.is(r.code, 0, r.output);
  const frontend = row(r.stdout, 'frontend');
  const [, running, source] = /([0-9a-f]{12})\s+([0-9a-f]{12})\s+stale$/.exec(frontend) ?? [];
  assert.ok(running && source && running !== source, frontend);
  assert.not.match(row(r.stdout, 'backend'), /stale/);
  assert.match(r.stdout, /rerun setup/);
});

Status('a crash-looping pod shows its restarts and CrashLoopBackOff, and no endpoints', async () => {
  const m = await deployed();
  m.patchState((s) => {
    const pod = s.kube.pods.taskflow?.taskflow?.find((p) => p.name.startsWith('taskflow-backend-'));
    if (!pod) throw new Error('no backend pod on the deployed machine');
    Object.assign(pod, { ready: false, waiting: 'CrashLoopBackOff', restarts: 7 });
  });
  const r = await m.run('status.ts');
  assert.is(r.code, 0, r.output);
  assert.match(row(r.stdout, 'backend'), /^backend\s+0\/1\s+7 CrashLoopBackOff\s+0\s/);
  assert.match(row(r.stdout, 'frontend'), /^frontend\s+1\/1\s+0\s+1\s/);
});

Status('with no port-forward running it says so, and how to start one', async () => {
  const m = await deployed();
  const r = await m.run('status.ts');
  assert.is(r.code, 0, r.output);
  assert.match(r.stdout, /http:\/\/localhost:3000 through port-forward: not running \(start it: npx tsx scripts\/port-forward\.ts --detach\)/);
  // minikube serves an ingress, and the release has one: its URL and what it needs are shown.
  assert.match(r.stdout, /http:\/\/taskflow\.local through the ingress/);
});

Status('--json prints one document with an entry per declared component', async () => {
  const m = await deployed();
  m.patchState((s) => {
    const pod = s.kube.pods.taskflow?.taskflow?.find((p) => p.name.startsWith('taskflow-frontend-'));
    Object.assign(pod ?? {}, { ready: false, waiting: 'CrashLoopBackOff', restarts: 3 });
  });
  const r = await m.run('status.ts', ['--json']);
  assert.is(r.code, 0, r.output);
  const report = JSON.parse(r.stdout) as StatusReport;
  assert.is(report.ok, true);
  assert.equal(report.components.map((c) => c.name), declared);
  const frontend = report.components.find((c) => c.name === 'frontend');
  assert.equal({ desired: frontend?.desired, ready: frontend?.ready, restarts: frontend?.restarts, waiting: frontend?.waiting, endpoints: frontend?.endpoints, stale: frontend?.stale }, {
    desired: 1,
    ready: 0,
    restarts: 3,
    waiting: 'CrashLoopBackOff',
    endpoints: 0,
    stale: false,
  });
  assert.match(frontend?.image ?? '', /^taskflow-frontend:[0-9a-f]{12}$/);
  assert.is(frontend?.image, frontend?.expectedImage);
  assert.equal(report.release, { name: 'taskflow', namespace: 'taskflow', revision: 1, status: 'deployed', chart: report.release?.chart ?? '' });
  assert.equal(report.access?.portForward, { url: 'http://localhost:3000', running: false });
});

Status('with a cluster but no release it prints what it knows and exits 3', async () => {
  const m = await FakeMachine.clusterOnly();
  machines.push(m);
  const r = await m.run('status.ts');
  assert.is(r.code, 3, r.output);
  assert.match(r.stdout, /cluster {4}minikube taskflow: running/);
  assert.match(r.stdout, /release {4}none/);
  assert.match(r.stdout, /release taskflow is not installed in namespace taskflow — run setup first/);
  // The tags the source gives are known without a cluster.
  assert.match(row(r.stdout, 'backend'), /-\s+[0-9a-f]{12}$/);
  assert.equal(describeCalls(mutating(m.calls())), []);
});

Status('with no cluster at all it says so and exits 3, without touching anything', async () => {
  const m = await FakeMachine.create();
  machines.push(m);
  const r = await m.run('status.ts', ['--json']);
  assert.is(r.code, 3, r.output);
  const report = JSON.parse(r.stdout) as StatusReport;
  assert.is(report.ok, false);
  assert.is(report.cluster.running, false);
  assert.is(report.release, null);
  assert.match(report.missing.join('\n'), /cluster taskflow is missing/);
  assert.equal(describeCalls(mutating(m.calls())), []);
});

Status('--watch redraws until Ctrl+C, then exits 130', async () => {
  const m = await deployed();
  const child = m.spawn('status.ts', ['--watch']);
  const done = collect(child);
  let stdout = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  try {
    await waitFor(() => (stdout.match(/^taskflow status:/gm) ?? []).length >= 2, { timeout: 30_000, interval: 100, describe: 'two redraws of status --watch' });
  } finally {
    child.kill('SIGINT');
  }
  const r = await done;
  assert.is(r.code, 130, r.output);
  assert.match(r.stdout, /every 2s, Ctrl\+C to stop/);
  assert.equal(m.liveProcesses(), []);
});

Status.after(() => {
  for (const m of machines) m.remove();
});
Status.run();

const Component = suite('status of one component');

const deployment = (name: string, spec: Record<string, unknown>, status: Record<string, unknown>): KubeObject => ({
  kind: 'Deployment',
  metadata: { name },
  spec: { ...spec, template: { spec: { containers: [{ name: 'sidecar', image: 'proxy:1' }, { name: 'worker', image: 'taskflow-worker:aaa' }] } } },
  status,
});

Component('a worker without a port has no endpoints, and its own container is the one whose image counts', () => {
  const c = componentStatus('worker', false, 'taskflow', [deployment('taskflow-worker', { replicas: 2 }, { readyReplicas: 1 })], 'taskflow-worker:bbb');
  assert.equal(c, { name: 'worker', deployed: true, desired: 2, ready: 1, restarts: 0, endpoints: null, image: 'taskflow-worker:aaa', expectedImage: 'taskflow-worker:bbb', stale: true });
});

Component('a component the release does not run is not deployed and not stale', () => {
  const c = componentStatus('mcp', true, 'taskflow', [], 'taskflow-mcp:ccc');
  assert.equal(c, { name: 'mcp', deployed: false, desired: 0, ready: 0, restarts: 0, endpoints: 0, expectedImage: 'taskflow-mcp:ccc', stale: false });
});

Component('without spec.replicas (the HPA owns the count) the desired count is what status reports', () => {
  assert.is(componentStatus('worker', false, 'taskflow', [deployment('taskflow-worker', {}, { replicas: 3, readyReplicas: 3 })], undefined).desired, 3);
});

Component('restarts add up over the pods, and the container that restarted last gives the reason', () => {
  const pod = (name: string, restartCount: number, reason: string | undefined, finishedAt: string): KubeObject => ({
    kind: 'Pod',
    metadata: { name, labels: { 'app.kubernetes.io/component': 'worker' } },
    status: { phase: 'Running', containerStatuses: [{ name: 'worker', restartCount, state: reason ? { waiting: { reason } } : { running: {} }, lastState: { terminated: { finishedAt } } }] },
  });
  const objects = [pod('a', 2, 'ImagePullBackOff', '2026-01-01T10:00:00Z'), pod('b', 5, 'CrashLoopBackOff', '2026-01-01T10:05:00Z'), pod('c', 1, undefined, '2026-01-01T10:09:00Z')];
  const c = componentStatus('worker', false, 'taskflow', objects, undefined);
  assert.is(c.restarts, 8);
  assert.is(c.waiting, 'CrashLoopBackOff');
});

Component.run();
