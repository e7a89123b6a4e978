// The `helm test` pods (templates/tests/readiness.yaml): one per enabled component with a port, each
// fetching that component's readiness path through its Service with busybox wget from the PostgreSQL
// image, whatever the components are called and whatever language their images run.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { schemaProblems } from '../../scripts/lib/validate/k8s-schema.ts';
import { checkPolicies, podTemplateOf, ref, type K8sObject } from '../../scripts/lib/validate/policy.ts';
import { toYaml } from '../../scripts/lib/tools/helm.ts';
import { admits, chartDir, dig, prodValues, render, renderNotes, workerValues } from '../lib/chart.ts';

type Component = Record<string, unknown> & { service: Record<string, unknown>; probes: Record<string, unknown> };
const defaults = parse(readFileSync(join(chartDir, 'values.yaml'), 'utf8')) as { components: Record<string, Component> };
const { backend, frontend } = defaults.components as { backend: Component; frontend: Component };
const { worker } = (parse(readFileSync(workerValues, 'utf8')) as { components: { worker: Component } }).components;

/**
 * An app that names nothing "backend": `api` and `web` on ports and readiness paths of their own,
 * and the worker fixture (no port), calling the api. The default components are switched off.
 */
const apiAndWeb = toYaml({
  components: {
    backend: { enabled: false },
    frontend: { enabled: false },
    api: { ...backend, containerPort: 9000, service: { ...backend.service, port: 9090 }, probes: { ...backend.probes, readinessPath: '/ready' } },
    web: { ...frontend, serviceUrls: { API_URL: 'api' }, service: { ...frontend.service, port: 8080 }, probes: { ...frontend.probes, readinessPath: '/healthz' } },
    worker: { ...worker, serviceUrls: { API_URL: 'api' } },
  },
});
const renderApiAndWeb = () => render({ values: apiAndWeb });

const testPods = (objects: K8sObject[]) => objects.filter((o) => o.kind === 'Pod' && o.metadata.annotations?.['helm.sh/hook'] === 'test');
const check = (pod: K8sObject) => dig(pod, 'spec.containers.0') as { image: string; command: string[]; args?: string[] };

const Readiness = suite('helm test pods');

Readiness('components api and web get one test pod each, named after them, and the worker none', async () => {
  const objects = await renderApiAndWeb();
  assert.ok(objects.some((o) => ref(o) === 'Deployment/demo-taskflow-worker'), 'the worker renders');
  assert.equal(testPods(objects).map(ref), ['Pod/demo-taskflow-test-api', 'Pod/demo-taskflow-test-web']);
});

Readiness('each pod fetches its component readiness path with wget through the Service, on the service port', async () => {
  const commands = Object.fromEntries(testPods(await renderApiAndWeb()).map((p) => [p.metadata.name, check(p).command]));
  assert.equal(commands, {
    'demo-taskflow-test-api': ['wget', '-q', '-O', '/dev/null', '-T', '10', 'http://demo-taskflow-api:9090/ready'],
    'demo-taskflow-test-web': ['wget', '-q', '-O', '/dev/null', '-T', '10', 'http://demo-taskflow-web:8080/healthz'],
  });
});

Readiness('the default app tests the backend on /health and the frontend on /api/health, and the MCP server once it is on', async () => {
  const urls = (objects: K8sObject[]) => testPods(objects).map((p) => check(p).command.at(-1));
  assert.equal(urls(await render()), ['http://demo-taskflow-backend:8000/health', 'http://demo-taskflow-frontend:3000/api/health']);
  assert.equal(urls(await render({ set: ['components.mcp.enabled=true', 'components.mcp.probes.readinessPath=/ready'] })), [
    'http://demo-taskflow-backend:8000/health',
    'http://demo-taskflow-frontend:3000/api/health',
    'http://demo-taskflow-mcp:8001/ready',
  ]);
});

Readiness('no test pod runs python or any app image: every one runs the PostgreSQL image', async () => {
  for (const objects of [await render(), await render({ set: ['components.mcp.enabled=true'] }), await renderApiAndWeb()]) {
    const pods = testPods(objects);
    assert.ok(pods.length >= 2, `only ${pods.length} test pods`);
    for (const pod of pods) {
      const c = check(pod);
      assert.not.ok([...c.command, ...(c.args ?? [])].some((arg) => /python/i.test(arg)), `${ref(pod)}: ${c.command.join(' ')}`);
      assert.is(c.image, 'postgres:16-alpine', ref(pod));
    }
  }
});

Readiness('the pods follow postgresql.image and run as postgresql.runAsUser', async () => {
  const objects = await render({ set: ['postgresql.image.repository=registry.local/postgres', 'postgresql.image.tag=16.4-alpine3.20', 'postgresql.image.pullPolicy=Never', 'postgresql.runAsUser=7070'] });
  const statefulSetImage = dig(objects.find((o) => o.kind === 'StatefulSet'), 'spec.template.spec.containers.0.image');
  for (const pod of testPods(objects)) {
    assert.is(check(pod).image, 'registry.local/postgres:16.4-alpine3.20', ref(pod));
    assert.is(check(pod).image, statefulSetImage, 'the image PostgreSQL runs, so nothing else is pulled');
    assert.is(dig(pod, 'spec.containers.0.imagePullPolicy'), 'Never');
    assert.equal([dig(pod, 'spec.securityContext.runAsUser'), dig(pod, 'spec.securityContext.runAsGroup')], [7070, 7070]);
  }
});

Readiness('they are test hooks, replaced before each run and deleted once passed, never restarted, with no token and the test labels', async () => {
  const pods = testPods(await renderApiAndWeb());
  assert.is(pods.length, 2);
  for (const pod of pods) {
    assert.equal(pod.metadata.annotations, { 'helm.sh/hook': 'test', 'helm.sh/hook-delete-policy': 'before-hook-creation,hook-succeeded' });
    assert.is(dig(pod, 'spec.restartPolicy'), 'Never');
    assert.is(dig(pod, 'spec.automountServiceAccountToken'), false);
    assert.is(pod.metadata.labels?.['app.kubernetes.io/component'], 'test');
    assert.is(pod.metadata.labels?.app, 'test');
  }
});

Readiness('they meet Pod Security Standard "restricted", every policy check and the Kubernetes schemas, with small limits', async () => {
  for (const objects of [await renderApiAndWeb(), await render({ files: [prodValues], set: ['components.mcp.enabled=true'] })]) {
    const pods = testPods(objects);
    assert.equal(pods.flatMap((p) => schemaProblems(p).map((problem) => `${ref(p)}: ${problem}`)), []);
    assert.equal(checkPolicies(objects).map((f) => `${f.check}: ${f.object}: ${f.message}`), []);
    for (const pod of pods) {
      assert.equal(dig(pod, 'spec.containers.0.securityContext.capabilities.drop'), ['ALL']);
      assert.is(dig(pod, 'spec.containers.0.securityContext.readOnlyRootFilesystem'), true);
      assert.equal(dig(pod, 'spec.containers.0.resources.limits'), { cpu: '100m', memory: '32Mi' });
    }
  }
});

Readiness('with the prod NetworkPolicy each test pod may reach the component it tests, also one with reachableFrom', async () => {
  const objects = await render({ files: [prodValues], set: ['components.mcp.enabled=true'] });
  assert.ok(objects.some((o) => ref(o) === 'NetworkPolicy/demo-taskflow-mcp'), 'the MCP server admits only its reachableFrom');
  const podLabels = (name: string) => podTemplateOf(objects.find((o) => ref(o) === `Deployment/demo-taskflow-${name}`) as K8sObject)?.labels ?? {};
  const reached = testPods(objects).map((pod) => {
    const target = pod.metadata.name.replace('demo-taskflow-test-', '');
    return [target, admits(objects, pod.metadata.labels ?? {}, podLabels(target))];
  });
  assert.equal(reached, [
    ['backend', true],
    ['frontend', true],
    ['mcp', true],
  ]);
  // The database is not theirs to reach: they ask through the components.
  const postgresql = podTemplateOf(objects.find((o) => o.kind === 'StatefulSet') as K8sObject)?.labels ?? {};
  assert.not.ok(admits(objects, testPods(objects)[0]?.metadata.labels ?? {}, postgresql));
});

Readiness('NOTES say which components helm test checks, leaving out the worker, and print the command with logs', async () => {
  const notes = await renderNotes({ files: [workerValues] });
  assert.match(notes, 'Check the release: a test pod per component (backend, frontend) asks its readiness path through its Service:');
  assert.match(notes, '  helm test demo -n taskflow --logs');
});

Readiness.run();
