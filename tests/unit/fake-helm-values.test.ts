// The fake helm's value rules and workload defaults, driven directly on a small chart whose
// values.yaml changes between upgrades: what each reuse flag renders and stores, as Helm's
// pkg/action/upgrade.go reuseValues does, and how many pods a Deployment runs (tests/fakes/helm).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { root } from '../lib/chart.ts';
import { freshState, type FakeState } from '../lib/fake-machine.ts';

const tmp = mkdtempSync(join(tmpdir(), 'taskflow-fake-helm-'));
const chart = join(tmp, 'demo');
const statePath = join(tmp, 'state.json');

/** The demo chart at some version: its values.yaml greets in `greeting`, and replicas is left out unless set. */
function writeChart(version: string, greeting: string): void {
  mkdirSync(join(chart, 'templates'), { recursive: true });
  writeFileSync(join(chart, 'Chart.yaml'), `apiVersion: v2\nname: demo\nversion: ${version}\nappVersion: "${version}"\n`);
  writeFileSync(join(chart, 'values.yaml'), `greeting: ${greeting}\ntag: "0"\n`);
  writeFileSync(
    join(chart, 'templates', 'deployment.yaml'),
    [
      'apiVersion: apps/v1',
      'kind: Deployment',
      'metadata:',
      '  name: demo',
      '  labels: {app.kubernetes.io/instance: {{ .Release.Name }}}',
      'spec:',
      '  {{- with .Values.replicas }}',
      '  replicas: {{ . }}',
      '  {{- end }}',
      '  selector: {matchLabels: {app: demo}}',
      '  template:',
      '    metadata: {labels: {app: demo}}',
      '    spec:',
      '      containers:',
      '        - name: demo',
      '          image: "demo:{{ .Values.tag }}"',
      '          env:',
      '            - {name: GREETING, value: {{ .Values.greeting | quote }}}',
      '',
    ].join('\n'),
  );
}

async function reset(): Promise<void> {
  const s = await freshState();
  s.kube.contexts.demo = 'kind:demo';
  s.kind.clusters.demo = { running: true, images: [] };
  s.kube.namespaces.demo = { demo: { phase: 'Active', polls: 0 } };
  writeFileSync(statePath, JSON.stringify(s));
}

function helm(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(root, 'tests', 'fakes', 'helm'), ...args, '--namespace', 'demo', '--kube-context', 'demo', '--timeout', '5m'], {
    encoding: 'utf8',
    env: { ...process.env, FAKE_CLI_STATE: statePath },
  });
  return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

function upgrade(...flags: string[]): void {
  const r = helm('upgrade', '--install', 'demo', chart, ...flags);
  assert.is(r.code, 0, r.stderr);
}

const state = () => JSON.parse(readFileSync(statePath, 'utf8')) as FakeState;
type Deployment = { kind: string; spec: { replicas?: number; template: { spec: { containers: { image: string; env: { name: string; value: string }[] }[] } } } };
const deployment = () => (state().kube.objects.demo?.demo as Deployment[]).find((o) => o.kind === 'Deployment')!;
/** What the running Deployment says: its image tag and its greeting. */
const running = () => {
  const c = deployment().spec.template.spec.containers[0]!;
  return { tag: c.image.split(':')[1], greeting: c.env.find((e) => e.name === 'GREETING')?.value };
};
const storedConfig = () => state().helm.releases['demo/demo/demo']!.revisions.at(-1)!.values;

const Values = suite('fake helm: values across upgrades');

Values.before.each(async () => {
  await reset();
  writeChart('1.0.0', 'hello');
  upgrade('--set', 'tag=1');
});

Values('--reuse-values renders the old chart defaults, and a second --reuse-values still does (they are stored with the revision)', () => {
  writeChart('2.0.0', 'bonjour');
  upgrade('--reuse-values', '--set', 'tag=2');
  assert.equal(running(), { tag: '2', greeting: 'hello' }, 'the changed default of 2.0.0 was deployed');
  assert.equal(storedConfig(), { tag: 2 });
  // Helm sets the coalesced old values as the new chart's values and stores that chart: the next
  // --reuse-values coalesces from there, so 3.0.0's default does not come through either.
  writeChart('3.0.0', 'hola');
  upgrade('--reuse-values', '--set', 'tag=3');
  assert.equal(running(), { tag: '3', greeting: 'hello' }, 'a second --reuse-values took the stored chart of 2.0.0 for its own values.yaml');
  assert.equal(storedConfig(), { tag: 3 });
});

Values('--reset-then-reuse-values renders the new chart defaults under the old config', () => {
  writeChart('2.0.0', 'bonjour');
  upgrade('--reuse-values', '--set', 'tag=2');
  writeChart('3.0.0', 'hola');
  upgrade('--reset-then-reuse-values', '--set', 'tag=3');
  assert.equal(running(), { tag: '3', greeting: 'hola' });
  assert.equal(storedConfig(), { tag: 3 });
});

Values('with no reuse flag and no new values, the old config is reused under the new defaults', () => {
  writeChart('2.0.0', 'bonjour');
  upgrade();
  assert.equal(running(), { tag: '1', greeting: 'bonjour' });
  assert.equal(storedConfig(), { tag: 1 });
  // New values without a reuse flag replace the old config whole: the tag falls back to the default.
  upgrade('--set', 'greeting=salut');
  assert.equal(running(), { tag: '0', greeting: 'salut' });
});

Values('a Deployment without spec.replicas runs 1 pod, one with it that many', () => {
  assert.is(deployment().spec.replicas, undefined, 'the chart left replicas out');
  assert.is(state().kube.pods.demo?.demo?.length, 1);
  assert.is(state().kube.deployments.demo?.demo?.demo?.replicas, 1);
  upgrade('--reuse-values', '--set', 'replicas=3');
  assert.is(state().kube.pods.demo?.demo?.length, 3);
  assert.is(state().kube.deployments.demo?.demo?.demo?.replicas, 3);
});

Values.after(() => rmSync(tmp, { recursive: true, force: true }));
Values.run();
