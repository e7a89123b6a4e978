// The MCP server is a component like the others: off by default; when on, it has probes, meets the
// Pod Security Standard "restricted" and every policy check, gets its shared secret, and with
// network policies on, only the backend (and the chart's `helm test` pods) can open a connection to it.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { schemaProblems } from '../../scripts/lib/validate/k8s-schema.ts';
import { checkPolicies, podTemplateOf, ref, type K8sObject } from '../../scripts/lib/validate/policy.ts';
import { admits, dig, find, prodValues, render, renderNotes } from '../lib/chart.ts';

const ON = ['components.mcp.enabled=true'];
const container = (o: K8sObject) => dig(o, 'spec.template.spec.containers.0') as Record<string, unknown>;
const decode = (s: K8sObject, key: string) => Buffer.from(s.data?.[key] ?? '', 'base64').toString();

const Mcp = suite('MCP server component');

Mcp('off by default: nothing of it renders and the Secret has no MCP key', async () => {
  const objects = await render();
  assert.equal(objects.filter((o) => o.metadata.name.endsWith('-mcp')).map(ref), []);
  assert.not.ok('MCP_SHARED_SECRET' in (find(objects, 'Secret', 'demo-taskflow').data ?? {}));
});

Mcp('on: a Deployment, Service and ConfigMap on port 8001 with startup, liveness and readiness probes', async () => {
  const objects = await render({ set: ON });
  const c = container(find(objects, 'Deployment', 'demo-taskflow-mcp'));
  assert.is(c.image, 'taskflow-mcp:0.1.0');
  assert.equal(c.ports, [{ name: 'http', containerPort: 8001, protocol: 'TCP' }]);
  assert.equal(dig(c, 'startupProbe.httpGet'), { path: '/health/live', port: 'http' });
  assert.equal(dig(c, 'livenessProbe.httpGet'), { path: '/health/live', port: 'http' });
  assert.equal(dig(c, 'readinessProbe.httpGet'), { path: '/health', port: 'http' });
  assert.is(dig(find(objects, 'Service', 'demo-taskflow-mcp'), 'spec.ports.0.port'), 8001);
  assert.is(find(objects, 'ConfigMap', 'demo-taskflow-mcp').data?.PORT, '8001');
  const ingressPaths = (dig(find(objects, 'Ingress', 'demo-taskflow'), 'spec.rules.0.http.paths') as { backend: { service: { name: string } } }[]).map((p) => p.backend.service.name);
  assert.not.ok(ingressPaths.includes('demo-taskflow-mcp'), 'the MCP server is not on the ingress');
});

Mcp('on: meets Pod Security Standard "restricted" and every policy check, in defaults and in prod', async () => {
  for (const files of [[], [prodValues]]) {
    const objects = await render({ files, set: ON });
    const mcp = objects.filter((o) => o.metadata.name === 'demo-taskflow-mcp');
    assert.equal(mcp.map((o) => o.kind).sort(), files.length ? ['ConfigMap', 'Deployment', 'HorizontalPodAutoscaler', 'NetworkPolicy', 'PodDisruptionBudget', 'Service'] : ['ConfigMap', 'Deployment', 'Service']);
    assert.equal(mcp.flatMap((o) => schemaProblems(o)), []);
    assert.equal(checkPolicies(objects).map((f) => `${f.check}: ${f.object}: ${f.message}`), []);
    const pod = podTemplateOf(find(objects, 'Deployment', 'demo-taskflow-mcp'));
    assert.equal(dig(pod?.spec, 'securityContext.runAsUser'), 1000);
    assert.equal(dig(pod?.spec, 'containers.0.securityContext.capabilities.drop'), ['ALL']);
  }
});

Mcp('on: it reads DATABASE_URL and a generated MCP_SHARED_SECRET of 48 characters from the chart Secret', async () => {
  const objects = await render({ set: ON });
  const env = (container(find(objects, 'Deployment', 'demo-taskflow-mcp')).env ?? []) as { name: string; valueFrom: { secretKeyRef: { name: string; key: string; optional?: boolean } } }[];
  assert.equal(env.map((e) => [e.name, e.valueFrom.secretKeyRef]), [
    ['DATABASE_URL', { name: 'demo-taskflow', key: 'DATABASE_URL' }],
    ['MCP_SHARED_SECRET', { name: 'demo-taskflow', key: 'MCP_SHARED_SECRET' }],
  ]);
  assert.is(decode(find(objects, 'Secret', 'demo-taskflow'), 'MCP_SHARED_SECRET').length, 48);
  const given = 'm'.repeat(40);
  assert.is(decode(find(await render({ set: [...ON, `secrets.mcpSharedSecret=${given}`] }), 'Secret', 'demo-taskflow'), 'MCP_SHARED_SECRET'), given);
});

Mcp('with networkPolicy.enabled only the backend and the helm test pods can reach it, and it can reach PostgreSQL', async () => {
  const objects = await render({ set: [...ON, 'networkPolicy.enabled=true', 'migrations.enabled=true'] });
  const pods = Object.fromEntries(
    objects.flatMap((o) => {
      const pod = podTemplateOf(o);
      return pod ? [[pod.labels['app.kubernetes.io/component'] ?? ref(o), pod.labels]] : [];
    }),
  ) as Record<string, Record<string, string>>;
  assert.equal(Object.keys(pods).sort(), ['backend', 'frontend', 'mcp', 'migration', 'postgresql', 'test']);
  const callers = Object.keys(pods).filter((name) => name !== 'mcp' && admits(objects, pods[name] ?? {}, pods.mcp ?? {}));
  assert.equal(callers, ['backend', 'test']);
  const database = Object.keys(pods).filter((name) => name !== 'postgresql' && admits(objects, pods[name] ?? {}, pods.postgresql ?? {}));
  assert.equal(database.sort(), ['backend', 'mcp', 'migration']);
});

Mcp('the prod profile switches network policies on, and only the backend and the helm test pods can reach the MCP server', async () => {
  const objects = await render({ files: [prodValues], set: ON });
  const pods = Object.fromEntries(objects.flatMap((o) => (podTemplateOf(o) ? [[podTemplateOf(o)?.labels['app.kubernetes.io/component'] ?? ref(o), podTemplateOf(o)?.labels ?? {}]] : []))) as Record<string, Record<string, string>>;
  assert.ok(objects.some((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'demo-taskflow-mcp'), 'prod renders a policy for the MCP server');
  assert.equal(Object.keys(pods).filter((name) => name !== 'mcp' && admits(objects, pods[name] ?? {}, pods.mcp ?? {})), ['backend', 'test']);
});

Mcp('the provider key is only in the Secret: no ConfigMap, literal env, annotation or NOTES carries it, and only the backend reads it', async () => {
  const key = 'sk-proj-Zq7provider0key0only0in0the0secret';
  for (const files of [[], [prodValues]]) {
    const objects = await render({ files, set: [...ON, `secrets.openaiApiKey=${key}`] });
    const secret = find(objects, 'Secret', 'demo-taskflow');
    assert.is(decode(secret, 'OPENAI_API_KEY'), key);
    const b64 = Buffer.from(key).toString('base64');
    const carriers = objects.filter((o) => o !== secret && (JSON.stringify(o).includes(key) || JSON.stringify(o).includes(b64))).map(ref);
    assert.equal(carriers, []);
    const readers = objects.flatMap((o) => {
      const pod = podTemplateOf(o);
      const env = (pod?.spec?.containers ?? []).flatMap((c) => ((c as { env?: { name: string; valueFrom?: { secretKeyRef?: { key: string } } }[] }).env ?? []));
      return env.some((e) => e.valueFrom?.secretKeyRef?.key === 'OPENAI_API_KEY') ? [pod?.labels['app.kubernetes.io/component']] : [];
    });
    assert.equal(readers, ['backend']);
  }
  // The migration Job runs in the backend's image with the backend's secrets, less the provider key.
  const job = find(await render({ files: [prodValues], set: [...ON, `secrets.openaiApiKey=${key}`] }), 'Job', 'demo-taskflow-migration');
  const jobEnv = (container(job).env as { name: string }[]).map((e) => e.name);
  assert.ok(jobEnv.includes('DATABASE_URL') && !jobEnv.includes('OPENAI_API_KEY'), jobEnv.join(', '));
  assert.not.ok((await renderNotes({ set: [...ON, `secrets.openaiApiKey=${key}`] })).includes(key));
});

Mcp('with network policies off, nothing restricts who reaches it', async () => {
  assert.not.ok((await render({ set: ON })).some((o) => o.kind === 'NetworkPolicy'));
});

Mcp.run();
