// Bad values fail at render time (as they would at helm install) with a message naming the field.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { checkPolicies } from '../../scripts/lib/validate/policy.ts';
import { toYaml } from '../../scripts/lib/tools/helm.ts';
import { chartDir, renderError, workerValues, type RenderInput } from '../lib/chart.ts';

/** values.yaml: a complete backend, so a case about a component's name fails on the name alone. */
const chartDefaults = parse(readFileSync(join(chartDir, 'values.yaml'), 'utf8')) as { components: Record<string, Record<string, unknown>> };

type Case = { input: RenderInput; names: string | RegExp };
const corpus: Record<string, Case> = {
  'replicas: abc': { input: { set: ['components.backend.replicaCount=abc'] }, names: '/components/backend/replicaCount' },
  'replicas: -1': { input: { set: ['components.frontend.replicaCount=-1'] }, names: '/components/frontend/replicaCount' },
  'replicas: 0': { input: { set: ['components.backend.replicaCount=0'] }, names: '/components/backend/replicaCount' },
  'replicas: 1.5': { input: { values: 'components:\n  backend:\n    replicaCount: 1.5\n' }, names: '/components/backend/replicaCount' },
  'service port 70000': { input: { set: ['components.backend.service.port=70000'] }, names: '/components/backend/service/port' },
  'container port 0': { input: { set: ['components.frontend.containerPort=0'] }, names: '/components/frontend/containerPort' },
  'node port outside the node-port range': { input: { set: ['components.frontend.service.type=NodePort', 'components.frontend.service.nodePort=8080'] }, names: '/components/frontend/service/nodePort' },
  'a 10-character BETTER_AUTH_SECRET': { input: { set: ['secrets.betterAuthSecret=0123456789'] }, names: '/secrets/betterAuthSecret' },
  'unknown service type': { input: { set: ['components.backend.service.type=LoadBalancerX'] }, names: '/components/backend/service/type' },
  'malformed memory quantity': { input: { set: ['components.backend.resources.requests.memory=lots'] }, names: '/components/backend/resources/requests/memory' },
  'malformed cpu quantity': { input: { set: ['components.frontend.resources.limits.cpu=fast'] }, names: '/components/frontend/resources/limits/cpu' },
  'requests removed': { input: { values: 'components:\n  backend:\n    resources:\n      requests: null\n' }, names: '/components/backend/resources' },
  'unknown pull policy': { input: { set: ['components.backend.image.pullPolicy=Sometimes'] }, names: '/components/backend/image/pullPolicy' },
  'misspelled key': { input: { set: ['components.backend.replicas=2'] }, names: /components\/backend.*replicas/ },
  'probe path without a slash': { input: { set: ['components.backend.probes.livenessPath=health'] }, names: '/components/backend/probes/livenessPath' },
  'root user': { input: { set: ['components.backend.runAsUser=0'] }, names: '/components/backend/runAsUser' },
  'unknown anti-affinity mode': { input: { set: ['components.frontend.antiAffinity=sometimes'] }, names: '/components/frontend/antiAffinity' },
  'bad ingress host': { input: { set: ['ingress.host=Not A Host'] }, names: '/ingress/host' },
  'storage size without a unit': { input: { set: ['postgresql.persistence.size=10'] }, names: '/postgresql/persistence/size' },
  'HPA target over 100%': { input: { set: ['components.backend.autoscaling.targetCPUUtilizationPercentage=150'] }, names: '/components/backend/autoscaling/targetCPUUtilizationPercentage' },
  'external database that is not a postgres URL': { input: { set: ['postgresql.enabled=false', 'externalDatabase.url=mysql://x'] }, names: '/externalDatabase/url' },
  'no database at all': { input: { set: ['postgresql.enabled=false'] }, names: /postgresql\.enabled is false.*externalDatabase\.url/ },
  'secret-looking plain setting': { input: { set: ['components.backend.env.STRIPE_API_KEY=sk_live_x'] }, names: /components\.backend\.env\.STRIPE_API_KEY looks like a secret/ },
  'secret key nobody provides': { input: { set: ['components.frontend.secretEnv[0]=GITHUB_TOKEN'] }, names: /components\.frontend\.secretEnv names GITHUB_TOKEN/ },
  'preStop longer than the grace period': { input: { set: ['components.backend.preStopSleepSeconds=40'] }, names: /components\.backend\.preStopSleepSeconds \(40\)/ },
  'HPA min above max': { input: { set: ['components.frontend.autoscaling.minReplicas=8', 'components.frontend.autoscaling.maxReplicas=3'] }, names: /components\.frontend\.autoscaling\.minReplicas \(8\)/ },
  'PDB that blocks every drain': { input: { set: ['podDisruptionBudget.enabled=true'] }, names: /podDisruptionBudget\.minAvailable \(1\) leaves no pod of backend/ },
  'service port 0': { input: { set: ['components.backend.service.port=0'] }, names: '/components/backend/service/port' },
  'a component name that is not a DNS label': { input: { values: toYaml({ components: { Web_App: chartDefaults.components.backend } }) }, names: /Web_App/ },
  'a component name longer than 30 characters': { input: { values: toYaml({ components: { ['w'.repeat(31)]: chartDefaults.components.backend } }) }, names: 'w'.repeat(31) },
  'a component named after one of the chart\'s own objects': { input: { values: toYaml({ components: { postgresql: chartDefaults.components.backend } }) }, names: /components\.postgresql: the name postgresql is taken/ },
  // Its pods would carry the helm test pods' labels: its Service would route to them, and every NetworkPolicy admit it.
  'a component named test': { input: { values: toYaml({ components: { test: { ...chartDefaults.components.backend, ingressPaths: [] } } }) }, names: /components\.test: the name test is taken/ },
  'two components claiming one ingress path': {
    input: { values: toYaml({ components: { frontend: { ingressPaths: ['/', '/api'] } } }) },
    names: /components\.frontend\.ingressPaths and components\.backend\.ingressPaths both claim \/api/,
  },
  'an ingress path with a trailing slash': { input: { values: toYaml({ components: { backend: { ingressPaths: ['/api/'] } } }) }, names: '/components/backend/ingressPaths/0' },
  'an ingress with no path to route': { input: { values: toYaml({ components: { backend: { ingressPaths: [] }, frontend: { ingressPaths: [] } } }) }, names: /ingress\.enabled is true but no enabled component has ingressPaths/ },
  'LoadBalancer with a node port': {
    input: { set: ['components.backend.service.type=LoadBalancer', 'components.backend.service.nodePort=30080'] },
    names: /components\.backend\.service\.nodePort \(30080\) is only used with type NodePort, but the type is LoadBalancer/,
  },
  'a service URL to a disabled component': { input: { set: ['components.frontend.serviceUrls.MCP_URL=mcp'] }, names: /components\.frontend\.serviceUrls\.MCP_URL names mcp, which is not an enabled component/ },
  'reachableFrom naming no component': { input: { set: ['components.mcp.reachableFrom[0]=backedn'] }, names: /components\.mcp\.reachableFrom names backedn, which is not a component/ },
  'reachableFrom that would shut out the ingress controller': {
    input: { set: ['networkPolicy.enabled=true', 'components.backend.reachableFrom[0]=frontend'] },
    names: /components\.backend has ingressPaths, but with networkPolicy\.enabled its reachableFrom admits only frontend/,
  },
  'migrations in a disabled component': { input: { set: ['migrations.enabled=true', 'migrations.component=mcp'] }, names: /migrations\.component is mcp, which is not an enabled component/ },
  'HPA memory target of 0%': { input: { set: ['components.frontend.autoscaling.targetMemoryUtilizationPercentage=0'] }, names: '/components/frontend/autoscaling/targetMemoryUtilizationPercentage' },
  'an MCP shared secret shorter than 32 characters': { input: { set: ['secrets.mcpSharedSecret=short'] }, names: '/secrets/mcpSharedSecret' },
  'a worker (containerPort null) with an ingress path': {
    input: { files: [workerValues], set: ['components.worker.ingressPaths[0]=/jobs'] },
    names: /components\.worker\.ingressPaths routes \/jobs to worker, which has no Service \(components\.worker\.containerPort is null: a worker\): set components\.worker\.ingressPaths to \[\]/,
  },
  'a service URL naming a worker': {
    input: { files: [workerValues], set: ['components.frontend.serviceUrls.WORKER_URL=worker'] },
    names: /components\.frontend\.serviceUrls\.WORKER_URL names worker, which has no Service to connect to \(components\.worker\.containerPort is null: a worker\): remove the variable/,
  },
  // Helm drops a null that overrides a default before the schema sees it (values.yaml says so).
  'a default component turned into a worker by a null port': { input: { values: 'components:\n  backend:\n    containerPort: null\n' }, names: /\/components\/backend.*missing.*containerPort/ },
  'per-component autoscaling under the old global key': { input: { set: ['autoscaling.backend.minReplicas=2'] }, names: /autoscaling.*backend/ },
};

const Bad = suite('bad values');

for (const [name, { input, names }] of Object.entries(corpus)) {
  Bad(`${name}: fails and names the field`, async () => {
    const message = await renderError(input);
    assert.ok(message, 'rendered although the values are bad');
    if (typeof names === 'string') assert.ok(message.includes(names), `message does not name ${names}:\n${message}`);
    else assert.match(message, names);
  });
}

Bad('cross-key problems are all reported in one failure', async () => {
  const message = await renderError({ set: ['postgresql.enabled=false', 'components.backend.env.DB_PASSWORD=x', 'components.backend.preStopSleepSeconds=30'] });
  assert.ok(message);
  assert.match(message, /postgresql\.enabled is false/);
  assert.match(message, /components\.backend\.env\.DB_PASSWORD/);
  assert.match(message, /components\.backend\.preStopSleepSeconds/);
});

Bad('the chart refuses in env exactly the names the policy check calls secret-looking', async () => {
  const names = ['SENTRY_DSN', 'db_passwd', 'AWS_CREDENTIALS', 'GITHUB_TOKEN', 'API_PREFIX', 'LOG_LEVEL'];
  const verdicts = await Promise.all(
    names.map(async (name) => {
      const refused = /looks like a secret/.test((await renderError({ set: [`components.backend.env.${name}=x`] })) ?? '');
      const flagged = checkPolicies([{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { [name]: 'x' } }]).length > 0;
      return { name, refused, flagged };
    }),
  );
  assert.equal(verdicts.filter((v) => v.refused !== v.flagged), []);
  assert.equal(verdicts.filter((v) => v.refused).map((v) => v.name), ['SENTRY_DSN', 'db_passwd', 'AWS_CREDENTIALS', 'GITHUB_TOKEN']);
});

Bad.run();
