// `render` as a real process on a fake machine: the objects it prints are the ones setup installs,
// it starts nothing but helm (the real one, through TASKFLOW_HELM: the fakes on PATH record any
// other call), no secret leaves it, and --out keeps a directory of one file per object in step.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parse as parseYaml, parseAllDocuments, stringify as stringifyYaml } from 'yaml';
import { Exec } from '../../scripts/lib/core/exec.ts';
import { Helm, toYaml } from '../../scripts/lib/tools/helm.ts';
import { FakeMachine, type RunResult } from '../lib/fake-machine.ts';
import { defaultHelm, matrix, provision } from '../lib/tool-versions.ts';

const Render = suite('render');
const machines: FakeMachine[] = [];
let realHelm = '';

type Obj = { apiVersion: string; kind: string; metadata: { name: string; annotations?: Record<string, string> }; data?: Record<string, string>; stringData?: Record<string, string> };

Render.before(async () => {
  realHelm = await defaultHelm();
});

async function machine(opts: Parameters<typeof FakeMachine.create>[0] = {}): Promise<FakeMachine> {
  const m = await FakeMachine.create(opts);
  machines.push(m);
  return m;
}

/** render on the machine with the real helm; every fake on PATH stays there to record a stray call. */
function render(m: FakeMachine, args: string[] = [], extra: Record<string, string> = {}): Promise<RunResult> {
  return m.run('render.ts', args, { TASKFLOW_HELM: realHelm, ...extra });
}

function objects(text: string): Obj[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => o !== null && typeof o === 'object');
}

const byRef = (a: Obj, b: Obj) => `${a.kind}/${a.metadata.name}`.localeCompare(`${b.kind}/${b.metadata.name}`);

/** A Secret's values masked as render masks them, so both sides compare. */
function maskSecrets(o: Obj): Obj {
  if (o.kind !== 'Secret') return o;
  const masked = (m?: Record<string, string>) => (m ? Object.fromEntries(Object.entries(m).map(([k, v]) => [k, v === '' ? v : '********'])) : m);
  return { ...o, ...(o.data ? { data: masked(o.data) } : {}), ...(o.stringData ? { stringData: masked(o.stringData) } : {}) } as Obj;
}

const isTestHook = (o: Obj) => (o.metadata.annotations?.['helm.sh/hook'] ?? '').split(',').includes('test');

/**
 * What the fake helm was given by setup's last upgrade, rendered by the real helm: the values
 * files of its argv in their order, then the values it received (the stored config: those files
 * and stdin, merged as helm merges them) as stdin. Test hooks are dropped: setup never runs them.
 */
async function installedObjects(m: FakeMachine): Promise<Obj[]> {
  const upgrade = m.calls().filter((c) => c.tool === 'helm' && c.args[0] === 'upgrade').at(-1);
  assert.ok(upgrade, 'setup ran no helm upgrade');
  const args = upgrade.args;
  // upgrade --install RELEASE CHART …
  const [release, chart] = [args[2] as string, args[3] as string];
  const namespace = args[args.indexOf('--namespace') + 1] as string;
  const files = args.flatMap((a, i) => (a === '--values' && args[i + 1] !== '-' ? [args[i + 1] as string] : []));
  assert.ok(args.includes('-'), 'the generated values went on stdin');
  const stored = m.state().helm.releases[`taskflow/${namespace}/${release}`]?.revisions.at(-1)?.values ?? {};
  const text = await new Helm(new Exec(), realHelm).template(chart, { release, namespace, valuesFiles: files, stdinValues: toYaml(stored) });
  return objects(text).filter((o) => !isTestHook(o));
}

/** Secrets set in the env file, so the chart generates none and two renders agree byte for byte. */
const SECRETS = {
  BETTER_AUTH_SECRET: 'auth-secret-0123456789-abcdefghijklmnopqrstuvwx',
  POSTGRES_PASSWORD: 'pg-password-0123456789-ABCDEFGHIJ',
  MCP_SHARED_SECRET: 'mcp-shared-0123456789-abcdefghijklmnopqrstu',
  OPENAI_API_KEY: 'sk-test-0123456789abcdefghijklmnopqrstuvwxyz',
};
const envText = (values: Record<string, string>) => Object.entries(values).map(([k, v]) => `${k}=${v}\n`).join('');

for (const [label, app] of [['the reference app', undefined], ['an app that is not ours (a LoadBalancer, a worker, a generated secret)', 'tests/fixtures/notes-app/app.yaml']] as const) {
  Render(`${label}: render prints the objects setup installs, Secret values masked, with no call to the fakes and no file written`, async () => {
    const m = await machine({ env: envText(SECRETS), ...(app ? { app } : {}) });
    const setup = await m.run('setup.ts');
    assert.is(setup.code, 0, setup.output);
    const installed = (await installedObjects(m)).map(maskSecrets).sort(byRef);
    m.clearCalls();
    const envBefore = readFileSync(m.envFile, 'utf8');

    const r = await render(m);
    assert.is(r.code, 0, r.output);
    assert.equal(m.calls(), [], 'render called a fake: it read the cluster, docker or helm on PATH');
    assert.is(readFileSync(m.envFile, 'utf8'), envBefore);
    const rendered = objects(r.stdout).sort(byRef);
    assert.equal(rendered.map((o) => `${o.kind}/${o.metadata.name}`), installed.map((o) => `${o.kind}/${o.metadata.name}`));
    assert.equal(rendered, installed);
    assert.ok(rendered.some((o) => o.kind === 'Secret'), 'the Secret is shown');
    assert.match(r.stderr, /helm test hooks left out/);
  });
}

Render('no secret value of the env file appears in the output, --verbose included; the Secret shows its keys, masked', async () => {
  const m = await machine({ env: envText(SECRETS) });
  const r = await render(m, ['--verbose']);
  assert.is(r.code, 0, r.output);
  for (const [key, value] of Object.entries(SECRETS)) {
    assert.not.ok(r.output.includes(value), `${key} was printed`);
    assert.not.ok(r.output.includes(Buffer.from(value).toString('base64')), `${key} was printed in base64`);
  }
  const secret = objects(r.stdout).find((o) => o.kind === 'Secret');
  assert.ok(secret?.data);
  for (const key of ['BETTER_AUTH_SECRET', 'POSTGRES_PASSWORD', 'DATABASE_URL', 'MCP_SHARED_SECRET', 'OPENAI_API_KEY']) assert.is(secret.data[key], '********', key);
  assert.match(r.stderr, /Secret taskflow: BETTER_AUTH_SECRET, DATABASE_URL, MCP_SHARED_SECRET, OPENAI_API_KEY, POSTGRES_PASSWORD \(values masked\)/);
  // Every secret is set, so nothing is drawn at random: nothing to note.
  assert.not.match(r.stderr, /note:/);
  // --verbose shows the helm command and the values it is given, masked.
  assert.match(r.stderr, /helm template taskflow \S+ --namespace taskflow -f \S+values-dev\.yaml -f - --skip-tests\n {2}on stdin \(secrets masked\):\n/);
  assert.match(r.stderr, /betterAuthSecret: "\*\*\*\*\*\*\*\*"/);
});

Render('a secret value that a setting also puts outside the Secret is masked there too, with a warning naming the object', async () => {
  // MODEL_NAME goes into the backend's ConfigMap; here it holds the API key by mistake.
  const m = await machine({ env: envText({ ...SECRETS, MODEL_NAME: SECRETS.OPENAI_API_KEY }) });
  const r = await render(m);
  assert.is(r.code, 0, r.output);
  assert.not.ok(r.output.includes(SECRETS.OPENAI_API_KEY));
  const cm = objects(r.stdout).find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'taskflow-backend');
  assert.is(cm?.data?.MODEL_NAME, '***');
  assert.match(r.stderr, /warning: a secret value from your settings appears in ConfigMap\/taskflow-backend, outside the Secret/);
});

Render('before setup has generated the secrets, render writes no env file and says setup will generate them', async () => {
  const m = await machine();
  const r = await render(m);
  assert.is(r.code, 0, r.output);
  assert.is(readFileSync(m.envFile, 'utf8'), '');
  assert.match(r.stderr, /note: BETTER_AUTH_SECRET, POSTGRES_PASSWORD are not in \S+ yet: setup generates them on its first run; MCP_SHARED_SECRET is not set: the chart draws one at random on each render/);
  assert.match(r.stderr, /checksum\/secret annotation differs from what setup installs/);
  assert.ok(objects(r.stdout).some((o) => o.kind === 'Secret'));
});

Render('--out writes one file per object, <kind>-<name>.yaml, each holding that object alone; the Secret is left out and said so', async () => {
  const m = await machine({ env: envText(SECRETS) });
  const printed = objects((await render(m)).stdout);
  const dir = join(m.dir, 'manifests', 'dev');
  const r = await render(m, ['--out', dir]);
  assert.is(r.code, 0, r.output);
  const expected = printed.filter((o) => o.kind !== 'Secret');
  assert.match(r.stdout, new RegExp(`^wrote ${expected.length} files to `));
  assert.match(r.stderr, /Secret taskflow \(BETTER_AUTH_SECRET, .*\) is not written/);
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort();
  assert.equal(files, expected.map((o) => `${o.kind.toLowerCase()}-${o.metadata.name}.yaml`).sort());
  for (const f of files) {
    const inFile = objects(readFileSync(join(dir, f), 'utf8'));
    assert.is(inFile.length, 1, f);
    assert.is(`${inFile[0]?.kind.toLowerCase()}-${inFile[0]?.metadata.name}.yaml`, f);
    assert.equal(inFile[0], printed.find((o) => o.kind === inFile[0]?.kind && o.metadata.name === inFile[0]?.metadata.name));
  }
  assert.ok(existsSync(join(dir, '.taskflow-render')));
  for (const [, value] of Object.entries(SECRETS)) assert.not.ok(files.some((f) => readFileSync(join(dir, f), 'utf8').includes(value)));
});

Render('a rerun of --out after a component is removed leaves no stale file, and keeps a file of yours', async () => {
  const m = await machine({ env: envText(SECRETS) });
  const dir = join(m.dir, 'manifests');
  assert.is((await render(m, ['--out', dir])).code, 0);
  assert.ok(existsSync(join(dir, 'deployment-taskflow-mcp.yaml')));
  writeFileSync(join(dir, 'kustomization.yaml'), 'resources: []\n');
  // The declaration without the MCP server (and the backend's link to it).
  const app = parseYaml(readFileSync(m.appFile, 'utf8')) as { components: Record<string, { connectsTo?: Record<string, string> }> };
  delete app.components.mcp;
  delete app.components.backend?.connectsTo;
  writeFileSync(m.appFile, stringifyYaml(app));

  const r = await render(m, ['--out', dir]);
  assert.is(r.code, 0, r.output);
  const files = readdirSync(dir);
  assert.equal(files.filter((f) => f.includes('mcp')), [], files.join(' '));
  assert.match(r.stdout, /removed 3 stale \(configmap-taskflow-mcp\.yaml, deployment-taskflow-mcp\.yaml, service-taskflow-mcp\.yaml\)/);
  assert.ok(files.includes('kustomization.yaml'), 'a file render did not write was removed');
  assert.ok(files.includes('deployment-taskflow-backend.yaml'));
});

Render('--out into a non-empty directory render did not write is refused with exit 2, and nothing in it changes', async () => {
  const m = await machine({ env: envText(SECRETS) });
  const dir = join(m.dir, 'mine');
  mkdirSync(dir);
  writeFileSync(join(dir, 'deployment-taskflow-backend.yaml'), 'hand-written\n');
  const r = await render(m, ['--out', dir]);
  assert.is(r.code, 2, r.output);
  assert.match(r.stderr, /holds files render did not write \(deployment-taskflow-backend\.yaml\)/);
  assert.equal(readdirSync(dir), ['deployment-taskflow-backend.yaml']);
  assert.is(readFileSync(join(dir, 'deployment-taskflow-backend.yaml'), 'utf8'), 'hand-written\n');
});

Render('--profile prod renders the prod objects (HPA, PDB, NetworkPolicy, migration Job), dev none of them, whatever TASKFLOW_PROFILE says', async () => {
  const m = await machine({ env: envText({ ...SECRETS, TASKFLOW_PROFILE: 'dev' }) });
  const kinds = (r: RunResult) => new Set(objects(r.stdout).map((o) => o.kind));
  const prod = await render(m, ['--profile', 'prod']);
  assert.is(prod.code, 0, prod.output);
  for (const k of ['HorizontalPodAutoscaler', 'PodDisruptionBudget', 'NetworkPolicy', 'Job']) assert.ok(kinds(prod).has(k), k);
  assert.match(prod.stderr, /objects for profile prod/);
  const dev = await render(m);
  assert.is(dev.code, 0, dev.output);
  for (const k of ['HorizontalPodAutoscaler', 'PodDisruptionBudget', 'NetworkPolicy', 'Job']) assert.not.ok(kinds(dev).has(k), k);
  // The environment's profile is overridden by the flag, as for every command.
  const byEnv = await render(m, ['--profile', 'dev'], { TASKFLOW_PROFILE: 'prod' });
  assert.not.ok(kinds(byEnv).has('HorizontalPodAutoscaler'));
});

Render('--profile staging exits 2 before any process starts', async () => {
  const m = await machine();
  // No TASKFLOW_HELM: the fake helm on PATH would record a call.
  const r = await m.run('render.ts', ['--profile', 'staging']);
  assert.is(r.code, 2, r.output);
  assert.match(r.stderr, /TASKFLOW_PROFILE/);
  assert.equal(m.calls(), []);
  assert.is(r.stdout, '');
});

Render('without helm, render exits 3 naming it', async () => {
  const m = await machine({ tools: ['docker', 'kubectl', 'minikube'] });
  const r = await m.run('render.ts');
  assert.is(r.code, 3, r.output);
  assert.match(r.stderr, /helm was not found on PATH/);
  const named = await m.run('render.ts', [], { TASKFLOW_HELM: join(m.dir, 'no', 'helm') });
  assert.is(named.code, 3, named.output);
  assert.match(named.stderr, /helm was not found at \S+ \(TASKFLOW_HELM\)/);
});

Render('Helm 3.12.1, 3.17.3 and 4.1.4 render the same objects', async () => {
  const m = await machine({ env: envText(SECRETS) });
  const outputs: string[] = [];
  for (const spec of matrix) {
    const { helm } = await provision(spec);
    const r = await render(m, ['--profile', 'prod'], { TASKFLOW_HELM: helm });
    assert.is(r.code, 0, `${spec.helm}: ${r.output}`);
    assert.match(r.stderr, new RegExp(`helm ${spec.helm.replace(/\./g, '\\.')}`));
    outputs.push(r.stdout);
  }
  assert.ok(outputs.every((o) => o === outputs[0]));
});

Render.after(() => {
  for (const m of machines) m.remove();
});
Render.run();
