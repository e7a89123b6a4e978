// scale as a real process against the fake CLIs: it changes replicas through helm
// --reset-then-reuse-values (or its equivalent on Helm < 3.14), waits for pods and endpoints, refuses bad input before touching anything,
// and setup afterwards keeps what scale set.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { describeCalls, FakeMachine, mutating } from '../lib/fake-machine.ts';
import { parseReplicas, planScale } from '../../scripts/lib/scale/replicas.ts';

const Scale = suite('scale');
const machines: FakeMachine[] = [];

async function deployed(env = ''): Promise<FakeMachine> {
  const m = await FakeMachine.deployed({ env });
  machines.push(m);
  return m;
}

const replicas = (m: FakeMachine, name: string) => m.state().kube.deployments.taskflow?.taskflow?.[name]?.replicas;

Scale('--frontend 3 --backend 2 upgrades with --reset-then-reuse-values, waits for endpoints and prints before/after', async () => {
  const m = await deployed();
  const r = await m.run('scale.ts', ['--frontend', '3', '--backend', '2']);
  assert.is(r.code, 0, r.output);
  const changed = describeCalls(mutating(m.calls()));
  assert.is(changed.length, 1, changed.join('\n'));
  assert.match(changed[0] ?? '', /^helm upgrade taskflow \S+ --namespace taskflow --kube-context taskflow --reset-then-reuse-values --set components\.backend\.replicaCount=2 --set components\.frontend\.replicaCount=3 --wait --timeout 5m$/);
  assert.is(replicas(m, 'taskflow-frontend'), 3);
  assert.is(replicas(m, 'taskflow-backend'), 2);
  assert.match(r.stdout, /backend 2\/2 ready, 2 endpoints; frontend 3\/3 ready, 3 endpoints/);
  assert.match(r.stdout, /before: backend 1, frontend 1, mcp 1, HPA off/);
  assert.match(r.stdout, /after: {2}backend 2, frontend 3, mcp 1, HPA off/);
});

Scale('the next setup keeps the scaled counts: it changes nothing', async () => {
  const m = await deployed();
  assert.is((await m.run('scale.ts', ['--frontend', '2'])).code, 0);
  m.clearCalls();
  const r = await m.run('setup.ts');
  assert.is(r.code, 0, r.output);
  assert.equal(describeCalls(mutating(m.calls())), []);
  assert.is(replicas(m, 'taskflow-frontend'), 2);
});

Scale('setup after a source change upgrades the image but keeps the scaled counts', async () => {
  const m = await deployed();
  assert.is((await m.run('scale.ts', ['--backend', '3'])).code, 0);
  const { writeFileSync, readFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  writeFileSync(join(m.frontendDir, 'app', 'page.tsx'), `${readFileSync(join(m.frontendDir, 'app', 'page.tsx'), 'utf8')}\n// changed\n`);
  assert.is((await m.run('setup.ts')).code, 0);
  assert.is(replicas(m, 'taskflow-backend'), 3);
});

// The release was installed by an older chart whose default backend grace period was 12s; the chart
// on disk now says 30s. Plain --reuse-values would render the new templates with the old defaults
// (pkg/action/upgrade.go: chart.Values = CoalesceValues(current.Chart, current.Config)).
for (const version of ['v3.15.4', 'v3.12.1', 'v4.1.4']) {
  Scale(`helm ${version}: scale after a chart change deploys the chart's current defaults, not the old release's`, async () => {
    const m = await FakeMachine.deployed({ state: (s) => void (s.helm.version = version) });
    machines.push(m);
    m.patchState((s) => {
      const rev = s.helm.releases['taskflow/taskflow/taskflow']!.revisions.at(-1)!;
      const defaults = structuredClone(rev.chartDefaults) as { components: { backend: { terminationGracePeriodSeconds: number } } };
      defaults.components.backend.terminationGracePeriodSeconds = 12;
      rev.chartDefaults = defaults;
    });
    m.clearCalls();
    const r = await m.run('scale.ts', ['--backend', '2']);
    assert.is(r.code, 0, r.output);
    const upgrade = describeCalls(mutating(m.calls()))[0] ?? '';
    if (version === 'v3.12.1') {
      // No --reset-then-reuse-values before Helm 3.14: the release's own values go back on stdin.
      assert.match(upgrade, /^helm upgrade taskflow \S+ --namespace taskflow --kube-context taskflow --values - --set components\.backend\.replicaCount=2 --wait --timeout 5m$/);
    } else assert.match(upgrade, /--reset-then-reuse-values --set components\.backend\.replicaCount=2/);
    const objects = (m.state().kube.objects.taskflow?.taskflow ?? []) as { kind: string; metadata: { name: string }; spec: { template: { spec: { terminationGracePeriodSeconds: number } } } }[];
    const backend = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'taskflow-backend');
    assert.is(backend?.spec.template.spec.terminationGracePeriodSeconds, 30);
    assert.is(replicas(m, 'taskflow-backend'), 2);
    // The values setup set (images, secrets) are still there: the next setup changes nothing.
    m.clearCalls();
    const again = await m.run('setup.ts');
    assert.is(again.code, 0, again.output);
    assert.equal(describeCalls(mutating(m.calls())), []);
  });
}

Scale('scaling to the current count is a no-op that says so', async () => {
  const m = await deployed();
  const r = await m.run('scale.ts', ['--frontend', '1']);
  assert.is(r.code, 0, r.output);
  assert.equal(describeCalls(mutating(m.calls())), []);
  assert.match(r.stdout, /Already at the requested scale/);
});

const bad: [string[], RegExp][] = [
  [['--frontend', 'abc'], /--frontend "abc" is not a whole number/],
  [['--frontend', '0'], /--frontend 0 is below 1/],
  [['--backend', '-1'], /option argument for '--backend'/],
  [['--backend=-1'], /--backend "-1" is not a whole number/],
  [['--backend', '2.5'], /--backend "2\.5" is not a whole number/],
  [['--frontend', '11'], /--frontend 11 is above the maximum of 10/],
  [['--database', '2'], /--database/],
  [['--hpa', 'maybe'], /--hpa "maybe" is not on or off/],
  [[], /nothing to scale/],
];
for (const [args, message] of bad) {
  Scale(`bad input ${JSON.stringify(args.join(' '))} exits 2 before any process runs`, async () => {
    const m = await deployed();
    const r = await m.run('scale.ts', args);
    assert.is(r.code, 2, r.output);
    assert.match(r.stderr, message);
    assert.equal(m.calls(), []);
  });
}

Scale('a higher TASKFLOW_MAX_REPLICAS raises the limit', async () => {
  const m = await deployed('TASKFLOW_MAX_REPLICAS=20\n');
  const r = await m.run('scale.ts', ['--frontend', '12']);
  assert.is(r.code, 0, r.output);
  assert.is(replicas(m, 'taskflow-frontend'), 12);
});

Scale('--hpa on without metrics-server and without --yes is refused, with no change', async () => {
  const m = await deployed();
  const r = await m.run('scale.ts', ['--hpa', 'on']);
  assert.is(r.code, 2, r.output);
  assert.match(r.stderr, /the HPA needs metrics-server/);
  assert.match(r.stderr, /--yes/);
  assert.equal(describeCalls(mutating(m.calls())), []);
});

Scale('--hpa on --yes enables metrics-server, then turns the HPA on', async () => {
  const m = await deployed();
  const r = await m.run('scale.ts', ['--hpa', 'on', '--yes']);
  assert.is(r.code, 0, r.output);
  const changed = describeCalls(mutating(m.calls()));
  assert.equal(changed[0], 'minikube addons enable metrics-server --profile taskflow');
  assert.match(changed[1] ?? '', /--reset-then-reuse-values --set autoscaling\.enabled=true/);
  const rel = m.state().helm.releases['taskflow/taskflow/taskflow'];
  assert.equal((rel?.revisions.at(-1)?.values as { autoscaling: { enabled: boolean } }).autoscaling.enabled, true);
  const withReplicas = await m.run('scale.ts', ['--frontend', '3']);
  assert.is(withReplicas.code, 2);
  assert.match(withReplicas.stderr, /the HPA is on, so it sets the replica counts/);
});

Scale('with no release installed it says to run setup (exit 3)', async () => {
  const m = await FakeMachine.clusterOnly();
  machines.push(m);
  const r = await m.run('scale.ts', ['--frontend', '2']);
  assert.is(r.code, 3, r.output);
  assert.match(r.stderr, /release taskflow is not installed in namespace taskflow/);
  assert.match(r.stderr, /Run setup first/);
  assert.equal(describeCalls(mutating(m.calls())), []);
});

Scale.after(() => {
  for (const m of machines) m.remove();
});
Scale.run();

const Plan = suite('scale plan');

Plan('the plan sets only what changes, and nothing when everything is as asked', () => {
  const cur = { replicas: { backend: 1, frontend: 2 }, hpa: false };
  assert.equal(planScale(cur, { replicas: { frontend: 2 } }), { set: [], changes: [] });
  assert.equal(planScale(cur, { replicas: { frontend: 3, backend: 1 } }).set, ['components.frontend.replicaCount=3']);
  assert.equal(planScale(cur, { replicas: {}, hpa: true }).set, ['autoscaling.enabled=true']);
  assert.equal(planScale({ ...cur, hpa: true }, { replicas: { frontend: 4 }, hpa: false }).set, ['components.frontend.replicaCount=4', 'autoscaling.enabled=false']);
  // A component the release has not scaled before counts from 0 (a worker added since).
  assert.equal(planScale(cur, { replicas: { worker: 2 } }).changes, ['worker 0 → 2']);
});

Plan('replica counts parse strictly', () => {
  assert.is(parseReplicas('frontend', '7', 10), 7);
  for (const raw of ['', ' ', '1e1', '0x2', '+3', '３']) assert.throws(() => parseReplicas('frontend', raw, 10));
});

Plan.run();
