// Every supported values combination renders with the real helm, passes the Kubernetes schemas
// and the policy checks.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { schemaProblems } from '../../scripts/lib/validate/k8s-schema.ts';
import { checkPolicies, ref } from '../../scripts/lib/validate/policy.ts';
import { devValues, prodValues, render, type RenderInput } from '../lib/chart.ts';

const matrix: Record<string, RenderInput> = {
  defaults: {},
  dev: { files: [devValues] },
  prod: { files: [prodValues] },
  'external database by url': {
    set: ['postgresql.enabled=false', 'externalDatabase.url=postgresql://u:p@db.example.com/app?sslmode=require'],
  },
  'external database by existing secret': {
    set: ['postgresql.enabled=false', 'externalDatabase.existingSecret=neon-db', 'externalDatabase.existingSecretKey=url'],
  },
  'existing app secret': { set: ['secrets.existingSecret=my-app-secrets'] },
  'ingress off': { set: ['ingress.enabled=false'] },
  'ingress with TLS': { set: ['ingress.tls.enabled=true'] },
  'HPA on': { set: ['autoscaling.enabled=true'] },
  'HPA off in prod': { files: [prodValues], set: ['autoscaling.enabled=false'] },
  'NetworkPolicy on': { set: ['networkPolicy.enabled=true'] },
  'migration job on': { set: ['migrations.enabled=true'] },
  'NodePort services': { set: ['components.frontend.service.type=NodePort', 'components.frontend.service.nodePort=30080', 'components.backend.service.type=NodePort'] },
  'LoadBalancer service': { set: ['components.frontend.service.type=LoadBalancer'] },
  'three replicas, hard anti-affinity': { set: ['components.backend.replicaCount=3', 'components.backend.antiAffinity=hard'] },
  'MCP server on': { set: ['components.mcp.enabled=true'] },
  'MCP server on in prod': { files: [prodValues], set: ['components.mcp.enabled=true'] },
  'frontend and MCP server only': { set: ['components.backend.enabled=false', 'components.mcp.enabled=true'] },
};

const Matrix = suite('render matrix');

for (const [name, input] of Object.entries(matrix)) {
  Matrix(`${name}: renders, matches the Kubernetes schemas and passes every policy`, async () => {
    const objects = await render(input);
    assert.ok(objects.length >= 8, `only ${objects.length} objects rendered`);
    const schema = objects.flatMap((o) => schemaProblems(o).map((p) => `${ref(o)}: ${p}`));
    assert.equal(schema, []);
    const findings = checkPolicies(objects).map((f) => `${f.check}: ${f.object}: ${f.message}`);
    assert.equal(findings, []);
  });
}

Matrix('HPA on leaves replicas to the autoscaler and creates one HPA per app component', async () => {
  const objects = await render({ set: ['autoscaling.enabled=true'] });
  const hpas = objects.filter((o) => o.kind === 'HorizontalPodAutoscaler').map((o) => o.metadata.name).sort();
  assert.equal(hpas, ['demo-taskflow-backend', 'demo-taskflow-frontend']);
  for (const d of objects.filter((o) => o.kind === 'Deployment')) assert.is(d.spec?.replicas, undefined, ref(d));
});

Matrix('ingress off renders no Ingress, existing secret renders no Secret', async () => {
  assert.not.ok((await render({ set: ['ingress.enabled=false'] })).some((o) => o.kind === 'Ingress'));
  assert.not.ok((await render({ set: ['secrets.existingSecret=mine'] })).some((o) => o.kind === 'Secret'));
});

Matrix('external database renders no PostgreSQL StatefulSet and no database password', async () => {
  const objects = await render(matrix['external database by url'] as RenderInput);
  assert.not.ok(objects.some((o) => o.kind === 'StatefulSet'));
  const secret = objects.find((o) => o.kind === 'Secret');
  assert.ok(secret);
  assert.equal(Object.keys(secret.data ?? {}).sort(), ['BETTER_AUTH_SECRET', 'DATABASE_URL']);
  assert.is(Buffer.from(secret.data?.DATABASE_URL ?? '', 'base64').toString(), 'postgresql://u:p@db.example.com/app?sslmode=require');
});

Matrix.run();
