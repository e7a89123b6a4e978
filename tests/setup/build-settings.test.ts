// Settings that reach the image builds: a mirrored base image (BASE_IMAGE) changes what is built,
// so it changes the content tag; a bad reference is refused before anything runs.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { describeCalls, FakeMachine } from '../lib/fake-machine.ts';

const Build = suite('build settings');
const machines: FakeMachine[] = [];

async function machine(env = ''): Promise<FakeMachine> {
  const m = await FakeMachine.create({ env });
  machines.push(m);
  return m;
}

const builds = (m: FakeMachine) => describeCalls(m.calls()).filter((c) => c.startsWith('docker build'));
const tagOf = (build: string, component: string) => new RegExp(`--tag taskflow-${component}:([0-9a-f]{12})`).exec(build)?.[1];

Build('TASKFLOW_BACKEND_BASE_IMAGE and TASKFLOW_FRONTEND_BASE_IMAGE reach the Dockerfiles as BASE_IMAGE and change the tags', async () => {
  const plain = await machine();
  assert.is((await plain.run('setup.ts')).code, 0);
  const mirrored = await machine('TASKFLOW_BACKEND_BASE_IMAGE=mirror.example.com/library/python:3.12-slim\nTASKFLOW_FRONTEND_BASE_IMAGE=mirror.example.com:5000/node:20-alpine\n');
  const r = await mirrored.run('setup.ts');
  assert.is(r.code, 0, r.output);
  const backend = builds(mirrored).find((b) => b.includes('taskflow-backend')) ?? '';
  const frontend = builds(mirrored).find((b) => b.includes('taskflow-frontend')) ?? '';
  assert.match(backend, /--build-arg BASE_IMAGE=mirror\.example\.com\/library\/python:3\.12-slim/);
  assert.match(frontend, /--build-arg BASE_IMAGE=mirror\.example\.com:5000\/node:20-alpine/);
  assert.not.match(builds(plain).join('\n'), /BASE_IMAGE/);
  const plainBackend = builds(plain).find((b) => b.includes('taskflow-backend')) ?? '';
  assert.is.not(tagOf(backend, 'backend'), tagOf(plainBackend, 'backend'));
});

Build('a base image that is not an image reference is refused before any process runs (exit 2)', async () => {
  const m = await machine('TASKFLOW_BACKEND_BASE_IMAGE=python 3.12 please\n');
  const r = await m.run('setup.ts');
  assert.is(r.code, 2, r.output);
  assert.match(r.stderr, /TASKFLOW_BACKEND_BASE_IMAGE/);
  assert.match(r.stderr, /an image reference such as/);
  assert.equal(m.calls(), []);
});

Build.after(() => {
  for (const m of machines) m.remove();
});
Build.run();
