// A component's metricsPort: a container port named "metrics" and METRICS_PORT, Prometheus annotations on
// the pod, nothing on the Service or the Ingress; with network policies on, only the namespaces of
// networkPolicy.metricsFrom reach it. The reference declaration gives the backend one.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { loadApp } from '../../scripts/lib/app/declaration.ts';
import { declaredValues } from '../../scripts/lib/app/components.ts';
import { checkPolicies, ref, type K8sObject } from '../../scripts/lib/validate/policy.ts';
import { dig, find, prodValues, render, renderError, root, workerValues } from '../lib/chart.ts';

const BACKEND = 'demo-taskflow-backend';
const MONITORING = 'networkPolicy.metricsFrom.kubernetes\\.io/metadata\\.name=monitoring';
const container = (o: K8sObject) => dig(o, 'spec.template.spec.containers.0') as { ports?: unknown[] };
const annotations = (o: K8sObject) => dig(o, 'spec.template.metadata.annotations') as Record<string, string>;
type Rule = { from?: Array<{ podSelector?: unknown; namespaceSelector?: { matchLabels: Record<string, string> } }>; ports: Array<{ port: string }> };
const rules = (objects: K8sObject[], name: string) => dig(find(objects, 'NetworkPolicy', name), 'spec.ingress') as Rule[];

const Metrics = suite('metricsPort');

Metrics('a component with a metricsPort gets the port, METRICS_PORT and the scrape annotations; its Service and the Ingress do not', async () => {
  const objects = await render({ set: ['components.backend.metricsPort=9102'] });
  const deployment = find(objects, 'Deployment', BACKEND);
  assert.equal(container(deployment).ports, [
    { name: 'http', containerPort: 8000, protocol: 'TCP' },
    { name: 'metrics', containerPort: 9102, protocol: 'TCP' },
  ]);
  const a = annotations(deployment);
  assert.equal([a['prometheus.io/scrape'], a['prometheus.io/port'], a['prometheus.io/path']], ['true', '9102', '/metrics']);
  assert.is(dig(find(objects, 'ConfigMap', BACKEND), 'data.METRICS_PORT'), '9102');
  assert.equal((dig(find(objects, 'Service', BACKEND), 'spec.ports') as Array<{ name: string }>).map((p) => p.name), ['http']);
  const routed = (dig(find(objects, 'Ingress', 'demo-taskflow'), 'spec.rules.0.http.paths') as Array<{ backend: { service: { port: { name?: string; number?: number } } } }>).map((p) => p.backend.service.port);
  assert.not.ok(routed.some((port) => port.name === 'metrics' || port.number === 9102), JSON.stringify(routed));
  assert.equal(checkPolicies(objects).map((f) => `${f.check}: ${f.object}: ${f.message}`), []);
});

Metrics('without one nothing changes: no metrics port, no annotations, no METRICS_PORT', async () => {
  const objects = await render();
  const deployment = find(objects, 'Deployment', BACKEND);
  assert.equal((container(deployment).ports as Array<{ name: string }>).map((p) => p.name), ['http']);
  assert.equal(Object.keys(annotations(deployment)).filter((k) => k.startsWith('prometheus.io/')), []);
  assert.is(dig(find(objects, 'ConfigMap', BACKEND), 'data.METRICS_PORT'), undefined);
});

Metrics('the same port for the app and its metrics is refused with what to change', async () => {
  const error = await renderError({ set: ['components.backend.metricsPort=8000'] });
  assert.match(error ?? '', 'components.backend.metricsPort (8000) is its containerPort too');
});

Metrics('with network policies, an open component stays open on its port and admits only metricsFrom on its metrics port', async () => {
  const objects = await render({ files: [prodValues], set: ['components.backend.metricsPort=9102', 'components.mcp.enabled=true', 'components.mcp.metricsPort=9103'] });
  const [http, metrics] = rules(objects, BACKEND);
  assert.equal(http, { ports: [{ port: 'http', protocol: 'TCP' }] });
  assert.equal(metrics, { from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }], ports: [{ port: 'metrics', protocol: 'TCP' }] });
  // A component with reachableFrom keeps it, and adds the same metrics rule.
  const mcp = rules(objects, 'demo-taskflow-mcp');
  assert.is(mcp.length, 2);
  assert.ok(mcp[0]?.from?.every((peer) => peer.podSelector) && mcp[0]?.ports[0]?.port === 'http');
  assert.equal(mcp[1], metrics);
  assert.equal(checkPolicies(objects).map((f) => `${f.check}: ${f.object}: ${f.message}`), []);
});

Metrics('with metricsFrom empty no namespace may scrape, and the app port is still open', async () => {
  const objects = await render({ set: ['networkPolicy.enabled=true', 'components.backend.metricsPort=9102'] });
  assert.equal(rules(objects, BACKEND), [{ ports: [{ port: 'http', protocol: 'TCP' }] }]);
});

Metrics('a worker can serve metrics: its only port, and with network policies only metricsFrom reaches it', async () => {
  const worker = 'demo-taskflow-worker';
  const objects = await render({ files: [workerValues], set: ['components.worker.metricsPort=9102', 'networkPolicy.enabled=true', MONITORING] });
  assert.equal(container(find(objects, 'Deployment', worker)).ports, [{ name: 'metrics', containerPort: 9102, protocol: 'TCP' }]);
  assert.equal(rules(objects, worker).map((r) => r.ports[0]?.port), ['metrics']);
  assert.not.ok(objects.some((o) => ref(o) === `Service/${worker}`));
});

Metrics('the reference declaration gives the backend its metrics port, and the others none', () => {
  const app = loadApp(root, {});
  const ports = Object.fromEntries(Object.entries(app.components).map(([name, c]) => [name, declaredValues(c, {}).metricsPort]));
  assert.equal(ports, { backend: 9102, frontend: null, mcp: null });
});

Metrics.run();
