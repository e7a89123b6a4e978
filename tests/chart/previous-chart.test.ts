// The chart whose components are data renders what the chart before it rendered (per-component
// templates, taken from git at a fixed commit), object for object and field for field, apart from
// the changes meant: the chart version, the plain `app` pod label, the backend's liveness and
// startup probes on /health/live, HPAs that also aim at memory and slow their scale-down, and a
// migration Job without the model provider key. The `helm test` pods are left out: they were
// rewritten (one per component with a port, busybox wget instead of the backend's Python), and
// readiness.test.ts checks them.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ref, type K8sObject } from '../../scripts/lib/validate/policy.ts';
import { render, root } from '../lib/chart.ts';
import { loadApp } from '../../scripts/lib/app/declaration.ts';
import { chartLayers } from '../../scripts/lib/app/values.ts';
import { declarationLayer, migrationValues } from '../../scripts/lib/release/values.ts';
import { toYaml } from '../../scripts/lib/tools/helm.ts';

/** main before the refactor: backend/ and frontend/ template folders over _workloads.tpl. */
const PREVIOUS = '1d1a629430626a007375583876cef49a6aab4d4b';

/** Fixed secrets, so both renders draw the same Secret and the same checksum/secret. */
const SECRETS = [`secrets.betterAuthSecret=${'s'.repeat(40)}`, 'postgresql.auth.password=pw-0123456789abcdef'];

/** The previous chart's files, written out of git (no checkout, no shell). */
function checkoutPrevious(): string {
  const git = (args: string[]) => execFileSync('git', ['-C', root, ...args], { maxBuffer: 16 << 20 });
  let files: string[];
  try {
    files = git(['ls-tree', '-r', '--name-only', PREVIOUS, 'helm/taskflow']).toString().split('\n').filter(Boolean);
  } catch (err) {
    throw new Error(`commit ${PREVIOUS} is not in this clone's history (a shallow clone? git fetch --unshallow): ${(err as Error).message}`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'taskflow-previous-chart-'));
  for (const file of files) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), git(['show', `${PREVIOUS}:${file}`]));
  }
  return dir;
}

/**
 * The reference app's variables, which the chart's values files held then and its declaration
 * holds now (the chart's components carry no app env): given back as values, so both charts
 * render the same app.
 */
function referenceEnv(profile: string | undefined): string {
  const cors = profile === 'dev' ? 'http://localhost:3000,http://taskflow.local' : profile === 'prod' ? 'https://taskflow.example.com' : 'http://localhost:3000';
  return toYaml({ components: { backend: { env: { API_PREFIX: '/api/v1', LOG_LEVEL: profile === 'dev' ? 'debug' : 'info', CORS_ORIGINS: cors } }, frontend: { serviceUrls: { BACKEND_URL: 'backend' } } } });
}

type Change = string;

/** Differences between two objects, one line per changed leaf, added subtree or removed subtree. */
function diff(a: unknown, b: unknown, path: string, out: Change[]): Change[] {
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
  if (isObj(a) && isObj(b) && Array.isArray(a) === Array.isArray(b)) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const p = path ? `${path}.${k}` : k;
      if (!(k in b)) out.push(`- ${p}`);
      else if (!(k in a)) out.push(`+ ${p}`);
      else diff(a[k], b[k], p, out);
    }
  } else if (JSON.stringify(a) !== JSON.stringify(b)) out.push(`~ ${path}: ${JSON.stringify(a)} → ${JSON.stringify(b)}`);
  return out;
}

/** The chart version is in every helm.sh/chart label (objects and pod templates); it was bumped on purpose. */
function withoutChartLabel(o: K8sObject): K8sObject {
  return JSON.parse(JSON.stringify(o), (key, value) => (key === 'helm.sh/chart' ? undefined : value)) as K8sObject;
}

const isHelmTest = (o: K8sObject) => o.metadata.annotations?.['helm.sh/hook'] === 'test';

function changes(before: K8sObject[], after: K8sObject[]): { kinds: Change[]; fields: Change[] } {
  const byRef = (objs: K8sObject[]) => new Map(objs.filter((o) => !isHelmTest(o)).map((o) => [ref(o), withoutChartLabel(o)]));
  const old = byRef(before);
  const now = byRef(after);
  const kinds = [...[...old.keys()].filter((r) => !now.has(r)).map((r) => `- ${r}`), ...[...now.keys()].filter((r) => !old.has(r)).map((r) => `+ ${r}`)];
  const fields = [...old].flatMap(([r, o]) => (now.has(r) ? diff(o, now.get(r), '', []).map((c) => `${c.slice(0, 2)}${r} ${c.slice(2)}`) : []));
  return { kinds, fields };
}

/** The intended field changes, for the objects a profile renders. */
function intended(objects: K8sObject[]): Change[] {
  const out: Change[] = [];
  for (const o of objects) {
    const r = ref(o);
    if (['Deployment', 'StatefulSet', 'Job'].includes(o.kind)) out.push(`+ ${r} spec.template.metadata.labels.app`);
    if (r === 'Deployment/demo-taskflow-backend') {
      const probe = 'spec.template.spec.containers.0';
      out.push(`~ ${r} ${probe}.startupProbe.httpGet.path: "/health" → "/health/live"`);
      out.push(`~ ${r} ${probe}.livenessProbe.httpGet.path: "/health" → "/health/live"`);
    }
    if (o.kind === 'HorizontalPodAutoscaler') out.push(`+ ${r} spec.metrics.1`, `+ ${r} spec.behavior`);
    // The migration Job no longer gets the model provider key, which was its last env entry.
    if (o.kind === 'Job') {
      const env = (o as unknown as { spec: { template: { spec: { containers: { env: unknown[] }[] } } } }).spec.template.spec.containers[0]?.env ?? [];
      out.push(`- ${r} spec.template.spec.containers.0.env.${env.length}`);
    }
  }
  return out.sort();
}

const Previous = suite('against the previous chart');
let previousDir = '';
Previous.before(() => {
  previousDir = checkoutPrevious();
});
Previous.after(() => rmSync(previousDir, { recursive: true, force: true }));

const oldChart = () => join(previousDir, 'helm', 'taskflow');
const profiles: Record<string, { file?: string; set?: string[] }> = {
  defaults: {},
  dev: { file: 'values-dev.yaml' },
  prod: { file: 'values-prod.yaml' },
  'defaults with NetworkPolicy, migrations, HPA and PDB': { set: ['networkPolicy.enabled=true', 'migrations.enabled=true', 'autoscaling.enabled=true', 'podDisruptionBudget.enabled=true'] },
};

for (const [name, p] of Object.entries(profiles)) {
  Previous(`${name}: the same objects, and only the intended fields changed`, async () => {
    const set = [...SECRETS, ...(p.set ?? [])];
    const before = await render({ chart: oldChart(), files: p.file ? [join(oldChart(), p.file)] : [], set });
    const after = await render({ files: p.file ? [join(root, 'helm', 'taskflow', p.file)] : [], set, values: referenceEnv(p.file?.replace(/^values-|\.yaml$/g, '')) });
    const { kinds, fields } = changes(before, after);
    assert.equal(kinds, []);
    assert.equal(fields.sort(), intended(after));
  });
}

Previous('prod with the MCP server on adds its Deployment, Service, ConfigMap, HPA, PDB and NetworkPolicy, and nothing else', async () => {
  const before = await render({ chart: oldChart(), files: [join(oldChart(), 'values-prod.yaml')], set: SECRETS });
  const after = await render({ files: [join(root, 'helm', 'taskflow', 'values-prod.yaml')], set: [...SECRETS, 'components.mcp.enabled=true'], values: referenceEnv('prod') });
  const { kinds, fields } = changes(before, after);
  assert.equal(kinds.sort(), [
    '+ ConfigMap/demo-taskflow-mcp',
    '+ Deployment/demo-taskflow-mcp',
    '+ HorizontalPodAutoscaler/demo-taskflow-mcp',
    '+ NetworkPolicy/demo-taskflow-mcp',
    '+ PodDisruptionBudget/demo-taskflow-mcp',
    '+ Service/demo-taskflow-mcp',
  ]);
  // PostgreSQL admits the MCP server too, and the Secret gains MCP_SHARED_SECRET, so every pod's
  // checksum/secret changes with it.
  const old = new Set(before.map(ref));
  const expected = [
    ...intended(after.filter((o) => old.has(ref(o)))),
    '+ NetworkPolicy/demo-taskflow-postgresql spec.ingress.0.from.2',
    '+ Secret/demo-taskflow data.MCP_SHARED_SECRET',
    '~ NetworkPolicy/demo-taskflow-postgresql spec.ingress.0.from.1.podSelector.matchLabels.app.kubernetes.io/component: "migration" → "mcp"',
    ...after
      .filter((o) => old.has(ref(o)) && ['Deployment', 'StatefulSet'].includes(o.kind) && o.metadata.name !== 'demo-taskflow-postgresql')
      .map((o) => `~ ${ref(o)} spec.template.metadata.annotations.checksum/secret`),
  ].sort();
  const withoutValues = fields.map((f) => (f.includes('checksum/secret') ? f.replace(/: .*$/, '') : f)).sort();
  assert.equal(withoutValues, expected);
});

for (const profile of ['dev', 'prod']) {
  Previous(`the reference declaration as setup lays it over values-${profile}.yaml: the previous chart's objects plus the MCP server's, and the live probe`, async () => {
    const file = `values-${profile}.yaml`;
    const app = loadApp(root, {});
    const { profileValues, chartValues } = chartLayers(join(root, 'helm', 'taskflow'), profile);
    const layer = { components: declarationLayer(app, {}, chartValues, profileValues, 'minikube', profile), migrations: migrationValues(app) };
    const before = await render({ chart: oldChart(), files: [join(oldChart(), file)], set: SECRETS });
    const after = await render({ files: [join(root, 'helm', 'taskflow', file)], set: SECRETS, values: toYaml(layer) });
    const { kinds } = changes(before, after);
    const mcpKinds = ['ConfigMap', 'Deployment', 'Service', ...(profile === 'prod' ? ['HorizontalPodAutoscaler', 'NetworkPolicy', 'PodDisruptionBudget'] : [])];
    // The backend declares a metricsPort: with the prod NetworkPolicy on, a policy keeps that port to networkPolicy.metricsFrom.
    const backendKinds = profile === 'prod' ? ['+ NetworkPolicy/demo-taskflow-backend'] : [];
    assert.equal(kinds.sort(), [...mcpKinds.map((k) => `+ ${k}/demo-taskflow-mcp`), ...backendKinds].sort());
    const backend = after.find((o) => ref(o) === 'Deployment/demo-taskflow-backend') as unknown as { spec: { template: { spec: { containers: { livenessProbe: { httpGet: { path: string } }; readinessProbe: { httpGet: { path: string } } }[] } } } };
    assert.is(backend.spec.template.spec.containers[0]?.livenessProbe.httpGet.path, '/health/live');
    assert.is(backend.spec.template.spec.containers[0]?.readinessProbe.httpGet.path, '/health');
  });
}

Previous.run();
