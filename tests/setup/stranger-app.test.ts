// An app that is not ours with components named like the reference app's (backend, frontend, mcp:
// tests/fixtures/stranger-app) is installed exactly as declared: its ConfigMaps hold only what it
// declares, under dev and prod; its Dockerfiles' own base image arguments take the base image
// settings; its web app bakes in the API's URL as the browser sees it, and a changed URL rebuilds
// that image alone; a setting the declaration or a Dockerfile cannot honour is refused before
// any process starts.
import { readFileSync, writeFileSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { describeCalls, FakeMachine, mutating, type FakeState } from '../lib/fake-machine.ts';

const Stranger = suite('an app named like ours, installed exactly as declared');
const APP = 'tests/fixtures/stranger-app/app.yaml';
const machines: FakeMachine[] = [];

async function machine(env = ''): Promise<FakeMachine> {
  const m = await FakeMachine.create({ app: APP, env });
  machines.push(m);
  return m;
}

type Obj = { kind: string; metadata: { name: string }; data?: Record<string, string>; spec?: { template?: { spec?: { containers?: { env?: { name: string; valueFrom?: unknown }[]; envFrom?: unknown[] }[] } } } };
const objects = (s: FakeState) => (s.kube.objects.taskflow?.taskflow ?? []) as Obj[];
const configMap = (s: FakeState, c: string) => objects(s).find((o) => o.kind === 'ConfigMap' && o.metadata.name === `taskflow-${c}`)?.data;
const secretEnv = (s: FakeState, c: string) =>
  (objects(s).find((o) => o.kind === 'Deployment' && o.metadata.name === `taskflow-${c}`)?.spec?.template?.spec?.containers?.[0]?.env ?? []).filter((e) => e.valueFrom).map((e) => e.name).sort();
const builds = (m: FakeMachine) => describeCalls(mutating(m.calls())).filter((c) => c.startsWith('docker build'));
const buildOf = (m: FakeMachine, c: string) => builds(m).find((b) => b.includes(`--tag stranger-${c}:`)) ?? '';

for (const profile of ['dev', 'prod']) {
  Stranger(`${profile}: each ConfigMap holds only the declared keys, and the secrets only what is declared (database: true gives DATABASE_URL)`, async () => {
    const m = await machine(`TASKFLOW_PROFILE=${profile}\n`);
    const r = await m.run('setup.ts');
    assert.is(r.code, 0, r.output);
    const s = m.state();
    assert.equal(configMap(s, 'backend'), { PORT: '8080', LOG_LEVEL: 'warning' });
    assert.equal(configMap(s, 'frontend'), { PORT: '3000', API_INTERNAL_URL: 'http://taskflow-backend:8080' });
    assert.equal(configMap(s, 'mcp'), { PORT: '8001' });
    assert.equal(secretEnv(s, 'backend'), ['DATABASE_URL', 'JWT_SECRET_KEY']);
    assert.equal(secretEnv(s, 'frontend'), ['JWT_SECRET_KEY']);
    assert.equal(secretEnv(s, 'mcp'), ['DATABASE_URL']);
  });
}

Stranger("the base image settings reach each Dockerfile's own argument (PYTHON_IMAGE, NODE_IMAGE), and the API's browser URL is baked into the web app", async () => {
  const m = await machine('TASKFLOW_BACKEND_BASE_IMAGE=mirror.example.com/library/python:3.12-slim\nTASKFLOW_FRONTEND_BASE_IMAGE=mirror.example.com/library/node:20-alpine\n');
  const r = await m.run('setup.ts');
  assert.is(r.code, 0, r.output);
  assert.match(buildOf(m, 'backend'), /--build-arg PYTHON_IMAGE=mirror\.example\.com\/library\/python:3\.12-slim/);
  assert.match(buildOf(m, 'frontend'), /--build-arg NODE_IMAGE=mirror\.example\.com\/library\/node:20-alpine/);
  assert.not.match(builds(m).join('\n'), /BASE_IMAGE=/);
  assert.match(buildOf(m, 'frontend'), /--build-arg NEXT_PUBLIC_API_URL=http:\/\/localhost:8080(\s|$)/);
  assert.match(buildOf(m, 'frontend'), /--build-arg NEXT_PUBLIC_TITLE=Stranger things to do/);
});

Stranger("a changed browser URL of the API rebuilds the web app that bakes it in, and nothing else", async () => {
  const m = await machine();
  assert.is((await m.run('setup.ts')).code, 0);
  m.clearCalls();
  writeFileSync(m.envFile, `${readFileSync(m.envFile, 'utf8')}TASKFLOW_BACKEND_PORT=18080\n`);
  const r = await m.run('setup.ts');
  assert.is(r.code, 0, r.output);
  assert.equal(builds(m).map((b) => /--tag (stranger-\w+):/.exec(b)?.[1]), ['stranger-frontend']);
  assert.match(buildOf(m, 'frontend'), /--build-arg NEXT_PUBLIC_API_URL=http:\/\/localhost:18080(\s|$)/);
});

Stranger('a base image setting for a Dockerfile without that argument is refused before any process runs (exit 2), naming the setting and the ARG to use', async () => {
  const m = await machine('TASKFLOW_BACKEND_BASE_IMAGE=mirror.example.com/library/python:3.12-slim\n');
  // The declaration without the backend's baseImageArg: BASE_IMAGE, which its Dockerfile lacks.
  const text = readFileSync(m.appFile, 'utf8');
  writeFileSync(m.appFile, text.replace(/(backend:[\s\S]*?)\n\s+baseImageArg: PYTHON_IMAGE/, '$1'));
  assert.ok(readFileSync(m.appFile, 'utf8') !== text, 'the fixture changed: update this test');
  const r = await m.run('setup.ts');
  assert.is(r.code, 2, r.output);
  assert.match(r.stderr, /TASKFLOW_BACKEND_BASE_IMAGE: is set, but backend's Dockerfile declares no ARG BASE_IMAGE/);
  assert.match(r.stderr, /build\.baseImageArg: PYTHON_IMAGE/);
  assert.equal(m.calls(), []);
});

Stranger('a hand-set secret shorter than its generated length is refused (exit 2), naming the key and never the value', async () => {
  const m = await machine('JWT_SECRET_KEY=tiny-secret-value\n');
  const r = await m.run('setup.ts');
  assert.is(r.code, 2, r.output);
  assert.match(r.stderr, /JWT_SECRET_KEY: is 17 characters long, needs at least 48/);
  assert.match(r.stderr, /delete the line and setup generates one/);
  assert.not.ok(r.output.includes('tiny-secret-value'), 'the secret was printed');
  assert.equal(m.calls(), []);
});

Stranger.after(() => {
  for (const m of machines) m.remove();
});
Stranger.run();
