// The declaration → chart values mapping, tested without any process: which components are on,
// what a component the chart does not know starts from, who outranks whom (declaration < profile
// < generated), where declared secrets go, and which Service type each component gets.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parse as parseYaml } from 'yaml';
import { parseApp, type App } from '../../scripts/lib/app/declaration.ts';
import { componentValues, entryComponent, loadBalancerPorts } from '../../scripts/lib/app/components.ts';
import { resolveSettings } from '../../scripts/lib/app/config.ts';
import { mergeValues, type Values } from '../../scripts/lib/app/values.ts';
import { releaseValues } from '../../scripts/lib/release/values.ts';
import { scaledValues } from '../../scripts/lib/release/decide.ts';

const root = join(import.meta.dirname, '..', '..');
const chart = join(root, 'helm', 'taskflow');
const read = (f: string) => parseYaml(readFileSync(join(chart, f), 'utf8')) as Values;
const chartDefaults = read('values.yaml');
const devProfile = read('values-dev.yaml');

function app(text: string, base = join(root, 'env')): App {
  const r = parseApp(text, base, 'app.yaml');
  assert.equal(r.problems, []);
  return { ...(r.app as Omit<App, 'file'>), file: 'app.yaml' };
}
const reference = () => app(readFileSync(join(root, 'env', 'app.yaml'), 'utf8'));
const notes = () => app(readFileSync(join(root, 'tests', 'fixtures', 'notes-app', 'app.yaml'), 'utf8'), join(root, 'tests', 'fixtures', 'notes-app'));

function generated(a: App, env: Record<string, string> = {}, driver = 'minikube', profile: Values = devProfile): Values {
  const r = resolveSettings({ values: { TASKFLOW_DRIVER: driver, ...env }, lines: {}, label: 'env/.env' }, {}, {}, a.settings, a.components);
  assert.equal(r.problems, []);
  if (!r.settings) throw new Error('no settings');
  return releaseValues({
    settings: r.settings,
    app: a,
    appValues: r.appValues,
    images: Object.fromEntries(Object.keys(a.components).map((c) => [c, { repository: `${a.name}-${c}`, tag: 'abc' }])),
    origins: ['http://localhost:3000', 'http://taskflow.local'],
    chartHash: 'h',
    chartValues: mergeValues(chartDefaults, profile),
    profileValues: profile,
  });
}
const comp = (v: Values, name: string) => (v.components as Record<string, Values>)[name] as Values;

const Map = suite('declaration → chart values');

Map('the reference declaration switches on its three components, the MCP server among them', () => {
  const v = generated(reference());
  for (const c of ['backend', 'frontend', 'mcp']) assert.is(comp(v, c).enabled, true, c);
  assert.is(comp(v, 'mcp').containerPort, 8001);
  assert.equal(comp(v, 'mcp').reachableFrom, ['backend']);
  assert.equal(comp(v, 'backend').probes, { startupPath: '/health/live', livenessPath: '/health/live', readinessPath: '/health' });
});

Map("a component's profiles.<profile>.env is laid over its env in that profile only; the generated access URLs outrank both", () => {
  const dev = comp(generated(reference()), 'backend').env as Values;
  const prod = comp(generated(reference(), { TASKFLOW_PROFILE: 'prod' }, 'minikube', read('values-prod.yaml')), 'backend').env as Values;
  assert.is(dev.LOG_LEVEL, 'debug');
  assert.is(prod.LOG_LEVEL, 'info');
  assert.is(dev.APP_MODULE, 'app.main:app');
  assert.is(dev.CORS_ORIGINS, 'http://localhost:3000,http://taskflow.local');
  const v = generated(reference());
  assert.is((comp(v, 'frontend').env as Values).BETTER_AUTH_URL, 'http://localhost:3000');
  assert.is((comp(v, 'frontend').env as Values).BETTER_AUTH_TRUSTED_ORIGINS, 'http://localhost:3000,http://taskflow.local');
});

Map('components named like the chart\'s own get exactly what they declare: no env, service URL or probe path of the reference app carries over', () => {
  const text = `components:\n  backend:\n    build: { context: ../app/backend, dockerfile: ../docker/backend.Dockerfile }\n    port: 8080\n    env: { LOG_LEVEL: warning }\n    database: true\n  frontend:\n    build: { context: ../app/frontend, dockerfile: ../docker/frontend.Dockerfile }\n    port: 3000\n    ingress: [/]\n`;
  const v = generated(app(text));
  const backend = comp(v, 'backend');
  assert.equal(backend.env, { LOG_LEVEL: 'warning' });
  assert.equal(backend.probes, { startupPath: '/', livenessPath: '/', readinessPath: '/' });
  // database: true gives DATABASE_URL through the Secret, unlisted.
  assert.equal(backend.secretEnv, ['DATABASE_URL']);
  assert.equal(comp(v, 'frontend').serviceUrls, {});
  assert.equal(comp(v, 'frontend').env, {});
});

Map('an app the chart does not know: its components get full entries, the chart\'s own are switched off', () => {
  const v = generated(notes());
  for (const c of ['backend', 'frontend', 'mcp']) assert.equal(comp(v, c).enabled, false, c);
  const web = comp(v, 'web');
  // From the chart's first component: the operational defaults; the app-specific keys are the declaration's.
  assert.equal(web.resources, (((mergeValues(chartDefaults, devProfile).components as Values).backend as Values).resources));
  assert.is(web.preStopSleepSeconds, 5);
  assert.equal(web.ingressPaths, ['/notes', '/notes-static']);
  assert.equal(web.secretEnv, ['NOTES_API_TOKEN']);
  assert.equal(web.env, { NOTES_GREETING: 'hello' });
  assert.equal(web.serviceUrls, {});
  assert.is(web.usesDatabase, false);
  assert.equal(web.probes, { ...((((chartDefaults.components as Values).backend as Values).probes) as Values), startupPath: '/healthz', livenessPath: '/healthz', readinessPath: '/readyz' });
  assert.equal((web.service as Values).type, 'LoadBalancer');
  assert.equal(web.image, { repository: 'notes-web', tag: 'abc', pullPolicy: 'Never' });
  const worker = comp(v, 'worker');
  assert.is(worker.containerPort, null);
  assert.equal(worker.ingressPaths, []);
  assert.equal(worker.serviceUrls, { WEB_URL: 'web' });
});

Map('a declared secret goes to the Secret (secrets.extra) and nowhere else; one left unset is held empty, so the pods that read it start', () => {
  const a = notes();
  const v = generated(a, { NOTES_API_TOKEN: 'tok-1234567890abcdef-0123456789abcdef' });
  assert.equal((v.secrets as Values).extra, { NOTES_API_TOKEN: 'tok-1234567890abcdef-0123456789abcdef' });
  assert.not.match(JSON.stringify(v.components), /tok-1234567890abcdef-0123456789abcdef/);
  assert.equal((generated(a).secrets as Values).extra, { NOTES_API_TOKEN: '' });
});

Map('a model key a component lists goes to the Secret; the chart\'s own keys are not repeated there', () => {
  const source = readFileSync(join(root, 'env', 'app.yaml'), 'utf8');
  const listed = 'secrets: [DATABASE_URL, BETTER_AUTH_SECRET, OPENAI_API_KEY, MCP_SHARED_SECRET]';
  assert.ok(source.includes(listed), 'the backend\'s secrets line changed: update this test');
  const text = source.replace(listed, 'secrets: [DATABASE_URL, BETTER_AUTH_SECRET, OPENAI_API_KEY, MCP_SHARED_SECRET, ANTHROPIC_API_KEY]');
  const v = generated(app(text), { ANTHROPIC_API_KEY: 'sk-ant-test', OPENAI_API_KEY: 'sk-openai' });
  assert.equal((v.secrets as Values).extra, { ANTHROPIC_API_KEY: 'sk-ant-test' });
  assert.is((v.secrets as Values).openaiApiKey, 'sk-openai');
  assert.equal(comp(v, 'backend').secretEnv, ['DATABASE_URL', 'BETTER_AUTH_SECRET', 'OPENAI_API_KEY', 'MCP_SHARED_SECRET', 'ANTHROPIC_API_KEY']);
});

Map('on Docker Desktop the entry component becomes a LoadBalancer unless it declares a type', () => {
  const a = reference();
  assert.is(entryComponent(a), 'frontend');
  assert.equal(loadBalancerPorts(a, 'docker-desktop'), { frontend: 3000 });
  assert.equal(loadBalancerPorts(a, 'minikube'), {});
  assert.is((comp(generated(a, {}, 'docker-desktop'), 'frontend').service as Values).type, 'LoadBalancer');
  assert.is((comp(generated(a), 'frontend').service as Values).type, undefined);
  // Declared as a LoadBalancer: one everywhere.
  assert.equal(loadBalancerPorts(notes(), 'kind'), { web: 8080 });
});

Map('componentValues alone: a chart component the declaration leaves out is off, a declared one is on', () => {
  const v = componentValues(notes(), { backend: { enabled: true } }, {});
  assert.equal(v.backend, { enabled: false });
  assert.is((v.web as Values).enabled, true);
});

Map('scale-set replica counts are carried for any component, for the same profile only', () => {
  const current = { commonAnnotations: { 'taskflow.dev/profile': 'dev' }, components: { web: { replicaCount: 3 }, worker: { replicaCount: 2 } }, autoscaling: { enabled: false } };
  assert.equal(scaledValues(current, 'dev'), { components: { web: { replicaCount: 3 }, worker: { replicaCount: 2 } }, autoscaling: { enabled: false } });
  assert.equal(scaledValues(current, 'prod'), {});
});

Map.run();

const Overrides = suite('per-component settings');

Overrides('TASKFLOW_<NAME>_PORT and _BASE_IMAGE are settings for each declared component, checked', () => {
  const a = notes();
  const ok = resolveSettings({ values: { TASKFLOW_WEB_PORT: '9090' }, lines: { TASKFLOW_WEB_PORT: 3 }, label: 'env/.env' }, { TASKFLOW_WORKER_BASE_IMAGE: 'mirror.example.com/python:3.12-slim' }, {}, a.settings, a.components);
  assert.equal(ok.problems, []);
  assert.equal(ok.components.web, { localPort: 9090, baseImage: '' });
  assert.equal(ok.components.worker, { localPort: undefined, baseImage: 'mirror.example.com/python:3.12-slim' });
  const bad = resolveSettings({ values: { TASKFLOW_WEB_PORT: 'abc', TASKFLOW_FRONTEND_PORT: '3000' }, lines: { TASKFLOW_WEB_PORT: 1, TASKFLOW_FRONTEND_PORT: 2 }, label: 'env/.env' }, {}, {}, a.settings, a.components);
  assert.equal(bad.problems.map((p) => p.key).sort(), ['TASKFLOW_FRONTEND_PORT', 'TASKFLOW_WEB_PORT']);
  assert.match(bad.problems.find((p) => p.key === 'TASKFLOW_WEB_PORT')?.message ?? '', /"abc" \(env\/\.env:1\) is not a port/);
  // Not a component of this app: unknown, with the nearest real key.
  assert.match(bad.problems.find((p) => p.key === 'TASKFLOW_FRONTEND_PORT')?.message ?? '', /not a known setting/);
});

Overrides('a setting the declaration replaced says where its value goes now', () => {
  const r = resolveSettings({ values: { TASKFLOW_BACKEND_DIR: 'app/backend' }, lines: { TASKFLOW_BACKEND_DIR: 1 }, label: 'env/.env' }, {}, {}, {}, {});
  assert.match(r.problems[0]?.message ?? '', /no longer a setting.*build\.context/);
});

Overrides.run();
