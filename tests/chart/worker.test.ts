// A worker is a component with containerPort: null (a queue consumer): it runs as a Deployment with
// no port, no probe, no Service, no ingress path and no PORT; with network policies on nothing may
// connect to it, while it still reaches what it needs. The values come from tests/fixtures/chart.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { schemaProblems } from '../../scripts/lib/validate/k8s-schema.ts';
import { checkPolicies, podTemplateOf, ref, type K8sObject } from '../../scripts/lib/validate/policy.ts';
import { dig, find, prodValues, render, renderNotes, workerValues } from '../lib/chart.ts';

const WORKER = 'demo-taskflow-worker';
const container = (o: K8sObject) => dig(o, 'spec.template.spec.containers.0') as Record<string, unknown>;

type Selector = { matchLabels?: Record<string, string> };
type NetworkPolicySpec = { podSelector: Selector; policyTypes?: string[]; ingress?: { from?: { podSelector?: Selector }[]; ports?: unknown[] }[] };
const selects = (sel: Selector, labels: Record<string, string>) => Object.entries(sel.matchLabels ?? {}).every(([k, v]) => labels[k] === v);

const Worker = suite('a component without a port (a worker)');

Worker('its Deployment runs the container with no ports and no probes at all', async () => {
  const c = container(find(await render({ files: [workerValues] }), 'Deployment', WORKER));
  assert.is(c.image, 'taskflow-worker:0.1.0');
  assert.is(c.ports, undefined);
  assert.equal(['startupProbe', 'livenessProbe', 'readinessProbe'].filter((p) => p in c), []);
  assert.equal(c.envFrom, [{ configMapRef: { name: WORKER } }]);
});

Worker('it has no Service, and its ConfigMap has its settings and service URLs but no PORT', async () => {
  const objects = await render({ files: [workerValues] });
  assert.equal(objects.filter((o) => o.kind === 'Service').map(ref), ['Service/demo-taskflow-postgresql', 'Service/demo-taskflow-backend', 'Service/demo-taskflow-frontend']);
  assert.equal(find(objects, 'ConfigMap', WORKER).data, { BACKEND_URL: 'http://demo-taskflow-backend:8000', QUEUE_NAME: 'reminders' });
});

Worker('the Ingress routes nothing to it', async () => {
  const ing = find(await render({ files: [workerValues] }), 'Ingress', 'demo-taskflow');
  const routes = (dig(ing, 'spec.rules.0.http.paths') as { path: string; backend: { service: { name: string } } }[]).map((p) => [p.path, p.backend.service.name]);
  assert.equal(routes, [
    ['/api', 'demo-taskflow-backend'],
    ['/', 'demo-taskflow-frontend'],
  ]);
});

Worker('with networkPolicy.enabled no ingress rule or port admits anything to it, its egress is untouched, and it reaches PostgreSQL', async () => {
  const objects = await render({ files: [workerValues], set: ['networkPolicy.enabled=true'] });
  const labels = podTemplateOf(find(objects, 'Deployment', WORKER))?.labels ?? {};
  const governing = objects.filter((o) => o.kind === 'NetworkPolicy' && selects((o.spec as NetworkPolicySpec).podSelector, labels));
  assert.equal(governing.map(ref), [`NetworkPolicy/${WORKER}`]);
  assert.equal(dig(governing[0], 'spec.policyTypes'), ['Ingress']);
  assert.equal(dig(governing[0], 'spec.ingress'), []);
  const pg = find(objects, 'NetworkPolicy', 'demo-taskflow-postgresql').spec as NetworkPolicySpec;
  assert.ok(pg.ingress?.[0]?.from?.some((peer) => selects(peer.podSelector ?? {}, labels)), 'the worker (usesDatabase) may reach PostgreSQL');
});

Worker('it meets every policy check and the Kubernetes schemas, and gets its HPA and PDB in prod', async () => {
  for (const files of [[workerValues], [prodValues, workerValues]]) {
    const objects = await render({ files });
    const worker = objects.filter((o) => o.metadata.name === WORKER);
    const kinds = files.length > 1 ? ['ConfigMap', 'Deployment', 'HorizontalPodAutoscaler', 'NetworkPolicy', 'PodDisruptionBudget'] : ['ConfigMap', 'Deployment'];
    assert.equal(worker.map((o) => o.kind).sort(), kinds);
    assert.equal(worker.flatMap((o) => schemaProblems(o)), []);
    assert.equal(checkPolicies(objects).map((f) => `${f.check}: ${f.object}: ${f.message}`), []);
  }
});

Worker('NOTES print no URL or port-forward for it, only how to follow its logs', async () => {
  const notes = await renderNotes({ files: [workerValues] });
  const about = notes.split('\n').filter((line) => line.includes('worker'));
  assert.equal(about.filter((line) => /http|port-forward|health/.test(line)), []);
  assert.ok(about.some((line) => line.includes(`logs -f deployment/${WORKER}`)), notes);
  assert.match(notes, `rollout status deployment/demo-taskflow-backend deployment/demo-taskflow-frontend deployment/${WORKER}`);
});

Worker.run();
