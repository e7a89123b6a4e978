// Bad values fail at render time (as they would at helm install) with a message naming the field.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { checkPolicies } from '../../scripts/lib/policy.ts';
import { renderError, type RenderInput } from '../lib/chart.ts';

type Case = { input: RenderInput; names: string | RegExp };
const corpus: Record<string, Case> = {
  'replicas: abc': { input: { set: ['backend.replicaCount=abc'] }, names: '/backend/replicaCount' },
  'replicas: -1': { input: { set: ['frontend.replicaCount=-1'] }, names: '/frontend/replicaCount' },
  'replicas: 0': { input: { set: ['backend.replicaCount=0'] }, names: '/backend/replicaCount' },
  'replicas: 1.5': { input: { values: 'backend:\n  replicaCount: 1.5\n' }, names: '/backend/replicaCount' },
  'service port 70000': { input: { set: ['backend.service.port=70000'] }, names: '/backend/service/port' },
  'container port 0': { input: { set: ['frontend.containerPort=0'] }, names: '/frontend/containerPort' },
  'node port outside the node-port range': { input: { set: ['frontend.service.type=NodePort', 'frontend.service.nodePort=8080'] }, names: '/frontend/service/nodePort' },
  'a 10-character BETTER_AUTH_SECRET': { input: { set: ['secrets.betterAuthSecret=0123456789'] }, names: '/secrets/betterAuthSecret' },
  'unknown service type': { input: { set: ['backend.service.type=LoadBalancerX'] }, names: '/backend/service/type' },
  'malformed memory quantity': { input: { set: ['backend.resources.requests.memory=lots'] }, names: '/backend/resources/requests/memory' },
  'malformed cpu quantity': { input: { set: ['frontend.resources.limits.cpu=fast'] }, names: '/frontend/resources/limits/cpu' },
  'requests removed': { input: { values: 'backend:\n  resources:\n    requests: null\n' }, names: '/backend/resources' },
  'unknown pull policy': { input: { set: ['backend.image.pullPolicy=Sometimes'] }, names: '/backend/image/pullPolicy' },
  'misspelled key': { input: { set: ['backend.replicas=2'] }, names: /backend.*replicas/ },
  'probe path without a slash': { input: { set: ['backend.probes.path=health'] }, names: '/backend/probes/path' },
  'root user': { input: { set: ['backend.runAsUser=0'] }, names: '/backend/runAsUser' },
  'unknown anti-affinity mode': { input: { set: ['frontend.antiAffinity=sometimes'] }, names: '/frontend/antiAffinity' },
  'bad ingress host': { input: { set: ['ingress.host=Not A Host'] }, names: '/ingress/host' },
  'storage size without a unit': { input: { set: ['postgresql.persistence.size=10'] }, names: '/postgresql/persistence/size' },
  'HPA target over 100%': { input: { set: ['autoscaling.backend.targetCPUUtilizationPercentage=150'] }, names: '/autoscaling/backend/targetCPUUtilizationPercentage' },
  'external database that is not a postgres URL': { input: { set: ['postgresql.enabled=false', 'externalDatabase.url=mysql://x'] }, names: '/externalDatabase/url' },
  'no database at all': { input: { set: ['postgresql.enabled=false'] }, names: /postgresql\.enabled is false.*externalDatabase\.url/ },
  'secret-looking plain setting': { input: { set: ['backend.env.STRIPE_API_KEY=sk_live_x'] }, names: /backend\.env\.STRIPE_API_KEY looks like a secret/ },
  'secret key nobody provides': { input: { set: ['frontend.secretEnv[0]=GITHUB_TOKEN'] }, names: /frontend\.secretEnv names GITHUB_TOKEN/ },
  'preStop longer than the grace period': { input: { set: ['backend.preStopSleepSeconds=40'] }, names: /backend\.preStopSleepSeconds \(40\)/ },
  'HPA min above max': { input: { set: ['autoscaling.frontend.minReplicas=8', 'autoscaling.frontend.maxReplicas=3'] }, names: /autoscaling\.frontend\.minReplicas \(8\)/ },
  'PDB that blocks every drain': { input: { set: ['podDisruptionBudget.enabled=true'] }, names: /podDisruptionBudget\.minAvailable \(1\) leaves no pod of backend/ },
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
  const message = await renderError({ set: ['postgresql.enabled=false', 'backend.env.DB_PASSWORD=x', 'backend.preStopSleepSeconds=30'] });
  assert.ok(message);
  assert.match(message, /postgresql\.enabled is false/);
  assert.match(message, /backend\.env\.DB_PASSWORD/);
  assert.match(message, /backend\.preStopSleepSeconds/);
});

Bad('the chart refuses in env exactly the names the policy check calls secret-looking', async () => {
  const names = ['SENTRY_DSN', 'db_passwd', 'AWS_CREDENTIALS', 'GITHUB_TOKEN', 'API_PREFIX', 'LOG_LEVEL'];
  const verdicts = await Promise.all(
    names.map(async (name) => {
      const refused = /looks like a secret/.test((await renderError({ set: [`backend.env.${name}=x`] })) ?? '');
      const flagged = checkPolicies([{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { [name]: 'x' } }]).length > 0;
      return { name, refused, flagged };
    }),
  );
  assert.equal(verdicts.filter((v) => v.refused !== v.flagged), []);
  assert.equal(verdicts.filter((v) => v.refused).map((v) => v.name), ['SENTRY_DSN', 'db_passwd', 'AWS_CREDENTIALS', 'GITHUB_TOKEN']);
});

Bad.run();
