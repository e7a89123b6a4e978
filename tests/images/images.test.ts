// Builds both project images from docker/*.Dockerfile on stand-in bases, runs them hardened against a throwaway PostgreSQL, and checks health, users, the API, the browser flow and that no secret or mirror is recorded.
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { freePort } from '../../scripts/lib/core/net.ts';
import { runBrowserFlow } from '../lib/browser-flow.ts';
import { BACKEND_DIR, BACKEND_DOCKERFILE, type Container, containerLogs, copyContext, docker, FRONTEND_DIR, FRONTEND_DOCKERFILE, inspectImage, removeContainers, waitHealthy } from '../lib/docker.ts';
import { type Postgres, startPostgres } from '../lib/postgres.ts';
import { assertDockerfileRules, assertNothingRecorded, assertRunsHardened, assertRuntimeOnly, assertStopsPromptly, forbiddenInImages, type ImageConfig, imageSuite, log, need, type Outcome, ready, settle } from './harness.ts';

const BACKEND_TAG = 'taskflow-test/backend:test';
const FRONTEND_TAG = 'taskflow-test/frontend:test';
const APPMOD_TAG = 'taskflow-test/backend-appmodule:test';
const AUTH_SECRET = randomBytes(32).toString('hex');

/** The app running from the two images against a throwaway database. */
type Running = { pg: Postgres; migration?: { code: string; logs: string }; backend: Container; backendPort: number; frontend: Container; frontendPort: number };

const suite = imageSuite('images suite');
const s: {
  backendBuild?: Promise<Outcome<{ seconds: number }>>;
  frontendBuild?: Promise<Outcome<{ seconds: number }>>;
  running?: Promise<Outcome<Running>>;
} = {};

const running = () => ready(s.running, 'the app containers');

function backendEnv(databaseUrl: string, port: number): Record<string, string> {
  return {
    DATABASE_URL: databaseUrl,
    BETTER_AUTH_SECRET: AUTH_SECRET,
    PORT: String(port),
    // Cheap hashing keeps sign-ups fast in tests; the default (12) is for real use.
    BCRYPT_ROUNDS: '4',
    LOG_LEVEL: 'info',
  };
}

const frontendEnv = (port: number, backendPort: number) => ({ PORT: String(port), BACKEND_URL: `http://127.0.0.1:${backendPort}` });

/**
 * A database, the schema migrated in the backend image (as the chart's Job runs it), then the
 * backend and the frontend containers, both healthy: what the tests that talk to the app share.
 */
async function startApp(): Promise<Running> {
  await ready(s.backendBuild, 'the backend image');
  const pg = await startPostgres();
  suite.pg = pg;
  const backendPort = await freePort();
  const env = backendEnv(pg.url, backendPort);
  let migration: Running['migration'];
  if (existsSync(join(BACKEND_DIR, 'app', 'migrate.py'))) {
    const migrate = await suite.start(BACKEND_TAG, 'migrate', env, ['python', '-m', 'app.migrate']);
    const code = await docker(['wait', migrate.name], { timeoutMs: 180_000 });
    migration = { code, logs: code === '0' ? '' : await containerLogs(migrate) };
  }
  const backend = await suite.start(BACKEND_TAG, 'backend', env);
  await ready(s.frontendBuild, 'the frontend image');
  const frontendPort = await freePort();
  const frontend = await suite.start(FRONTEND_TAG, 'frontend', frontendEnv(frontendPort, backendPort));
  await Promise.all([waitHealthy(backend, 120_000), waitHealthy(frontend, 120_000)]);
  return { pg, migration, backend, backendPort, frontend, frontendPort };
}

test.before(async () => {
  const b = await suite.prepare();
  // Both builds start now and run side by side, and the app starts from them once they are done;
  // each test waits for what it needs (a build, the running app), so none relies on another.
  s.backendBuild = settle(b.buildBackend({ context: suite.plantedContext(BACKEND_DIR, 'BETTER_AUTH_SECRET'), tag: BACKEND_TAG }));
  s.frontendBuild = settle(b.buildFrontend({ context: suite.plantedContext(FRONTEND_DIR, 'BETTER_AUTH_SECRET'), tag: FRONTEND_TAG }));
  s.running = settle(startApp());
});

test.after(() => suite.cleanup());

test('the Dockerfiles pull nothing, name no secret and keep mirrors to build-stage ARGs', () => {
  for (const file of [BACKEND_DOCKERFILE, FRONTEND_DOCKERFILE]) assertDockerfileRules(file);
  assert.match(readFileSync(BACKEND_DOCKERFILE, 'utf8'), /^ARG BASE_IMAGE=python:3\.12-slim$/m);
  assert.match(readFileSync(FRONTEND_DOCKERFILE, 'utf8'), /^ARG BASE_IMAGE=node:20-alpine$/m);
});

test('the backend image builds from docker/backend.Dockerfile', async () => {
  log(`backend built in ${(await ready(s.backendBuild, 'the backend build')).seconds.toFixed(1)} s`);
});

test('the frontend image builds from docker/frontend.Dockerfile', async () => {
  log(`frontend built in ${(await ready(s.frontendBuild, 'the frontend build')).seconds.toFixed(1)} s`);
});

test('image metadata: numeric non-root user, port, healthcheck, run-time settings', async () => {
  await ready(s.backendBuild, 'the backend image');
  await ready(s.frontendBuild, 'the frontend image');
  const be = (await inspectImage<ImageConfig>(BACKEND_TAG)).Config;
  const env = (c: ImageConfig['Config']) => new Set(c.Env ?? []);
  assert.is(be.User, '1000:1000');
  assert.ok(be.ExposedPorts && '8000/tcp' in be.ExposedPorts, 'EXPOSE 8000');
  const beHealth = (be.Healthcheck?.Test ?? []).join(' ');
  assert.match(beHealth, /urllib/);
  assert.match(beHealth, /\/health/);
  for (const e of ['PYTHONDONTWRITEBYTECODE=1', 'PYTHONUNBUFFERED=1', 'APP_MODULE=app.main:app', 'PORT=8000']) assert.ok(env(be).has(e), `backend ENV ${e}`);
  const beCmd = [...(be.Entrypoint ?? []), ...(be.Cmd ?? [])].join(' ');
  for (const flag of ['uvicorn', '$APP_MODULE', '$PORT', '--proxy-headers', "--forwarded-allow-ips='*'", '--timeout-graceful-shutdown']) assert.ok(beCmd.includes(flag), `backend command has ${flag}: ${beCmd}`);

  const fe = (await inspectImage<ImageConfig>(FRONTEND_TAG)).Config;
  assert.is(fe.User, '1001:1001');
  assert.ok(fe.ExposedPorts && '3000/tcp' in fe.ExposedPorts, 'EXPOSE 3000');
  const feHealth = (fe.Healthcheck?.Test ?? []).join(' ');
  assert.match(feHealth, /node -e/);
  assert.match(feHealth, /fetch\(/);
  assert.match(feHealth, /\/api\/health/);
  for (const e of ['NODE_ENV=production', 'NEXT_TELEMETRY_DISABLED=1', 'PORT=3000', 'HOSTNAME=0.0.0.0']) assert.ok(env(fe).has(e), `frontend ENV ${e}`);
  assert.equal([...(fe.Entrypoint ?? []), ...(fe.Cmd ?? [])], ['node', 'server.js']);
  for (const e of fe.Env ?? []) assert.not.match(e, /^BACKEND_URL=/, 'BACKEND_URL is read at run time, never baked in');
});

test('final images hold only the runtime: no installer caches, tests, .env or .git from the context', async () => {
  await ready(s.backendBuild, 'the backend image');
  await ready(s.frontendBuild, 'the frontend image');
  await assertRuntimeOnly(BACKEND_TAG, {
    marker: suite.marker,
    searched: ['/app', '/opt'],
    probes: [
      'test -x /opt/venv/bin/python && echo venv',
      'test -e /opt/venv/bin/pip && echo pip-script',
      'python -c "import pip" 2>/dev/null && echo pip-module',
      'test -e /root/.cache/pip && echo pip-cache',
      'test -e /app/requirements.txt && echo requirements',
    ],
    present: ['venv'],
    absent: ['pip-script', 'pip-module', 'pip-cache'],
    uid: '1000',
  });
  await assertRuntimeOnly(FRONTEND_TAG, {
    marker: suite.marker,
    searched: ['/app'],
    probes: [
      'test -f /app/server.js && echo server',
      'test -d /app/.next/static && echo static',
      'test -d /app/public && echo public',
      'readlink /app/.next/cache',
      'test -e /root/.npm && echo npm-cache',
      'test -e /app/node_modules/.bin/next && echo next-cli',
    ],
    present: ['server', 'static', 'public', '/tmp'],
    absent: ['npm-cache', 'next-cli'],
    uid: '1001',
  });
});

test('the backend runs read-only, without capabilities, as uid 1000, and turns healthy', async () => {
  const { migration, backend, backendPort } = await running();
  if (migration) assert.is(migration.code, '0', `migration failed:\n${migration.logs}`);
  await assertRunsHardened(backend, '1000');
  const health = await fetch(`http://127.0.0.1:${backendPort}/health`);
  assert.is(health.status, 200);
});

test('the frontend runs read-only, without capabilities, as uid 1001, and turns healthy', async () => {
  const { frontend, frontendPort } = await running();
  await assertRunsHardened(frontend, '1001');
  const page = await fetch(`http://127.0.0.1:${frontendPort}/login`);
  assert.is(page.status, 200);
  assert.match(await page.text(), /<html/i);
});

type Auth = { access_token: string; refresh_token: string; user: { id: number | string; email: string } };
type Task = { id: number | string; title: string; completed: boolean };

/** Calls the backend API the way the browser does: through the frontend container's /api/v1 proxy. */
async function api<T>(method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; data: T }> {
  const port = (await running()).frontendPort;
  const res = await fetch(`http://127.0.0.1:${port}/api/v1${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, data: (text ? JSON.parse(text) : null) as T };
}

test('API contract through the frontend proxy: auth, tasks, chat, isolation, logout', async () => {
  await running();
  const stamp = randomBytes(4).toString('hex');
  const alice = { email: `alice-${stamp}@example.com`, password: 'correct horse battery', name: 'Alice' };
  const bob = { email: `bob-${stamp}@example.com`, password: 'another long password', name: 'Bob' };

  const signup = await api<Auth>('POST', '/auth/signup', alice);
  assert.is(signup.status, 201, JSON.stringify(signup.data));
  assert.ok(signup.data.access_token && signup.data.refresh_token);
  assert.is((await api('POST', '/auth/signup', alice)).status, 409, 'second sign-up with the same email');
  assert.is((await api('POST', '/auth/login', { email: alice.email, password: 'wrong password!' })).status, 401);
  const login = await api<Auth>('POST', '/auth/login', { email: alice.email, password: alice.password });
  assert.is(login.status, 200);
  const a = login.data.access_token;
  assert.is((await api<{ email: string }>('GET', '/auth/me', undefined, a)).data.email, alice.email);
  assert.is((await api('GET', '/tasks')).status, 401, 'tasks need a token');

  const created = await api<Task>('POST', '/tasks', { title: 'Write the Dockerfiles' }, a);
  assert.is(created.status, 201);
  assert.is(created.data.title, 'Write the Dockerfiles');
  assert.is(created.data.completed, false);
  const id = created.data.id;
  const listed = await api<Task[]>('GET', '/tasks', undefined, a);
  assert.ok(listed.data.some((t) => t.id === id));
  const updated = await api<Task>('PUT', `/tasks/${id}`, { completed: true }, a);
  assert.is(updated.status, 200);
  assert.is(updated.data.completed, true);

  const chat = await api<{ reply: string; actions: { tool: string }[] }>('POST', '/chat', { message: 'add task buy oat milk' }, a);
  assert.is(chat.status, 200, JSON.stringify(chat.data));
  assert.ok(chat.data.actions.some((x) => x.tool === 'add_task'), `chat took no add_task action: ${JSON.stringify(chat.data)}`);
  const afterChat = await api<Task[]>('GET', '/tasks', undefined, a);
  assert.ok(afterChat.data.some((t) => /oat milk/i.test(t.title)), 'the chatbot added the task');

  const b = (await api<Auth>('POST', '/auth/signup', bob)).data.access_token;
  assert.ok(b);
  assert.is((await api<Task[]>('GET', '/tasks', undefined, b)).data.length, 0, "bob sees none of alice's tasks");
  assert.is((await api('GET', `/tasks/${id}`, undefined, b)).status, 404);
  assert.is((await api('PUT', `/tasks/${id}`, { title: 'hijacked' }, b)).status, 404);
  assert.is((await api('DELETE', `/tasks/${id}`, undefined, b)).status, 404);

  const deleted = await api('DELETE', `/tasks/${id}`, undefined, a);
  assert.ok(deleted.status === 204 || deleted.status === 200, `delete answered ${deleted.status}`);
  assert.not.ok((await api<Task[]>('GET', '/tasks', undefined, a)).data.some((t) => t.id === id));

  const logout = await api('POST', '/auth/logout', { refresh_token: login.data.refresh_token }, a);
  assert.is(logout.status, 200);
  assert.is((await api('GET', '/auth/me', undefined, a)).status, 401, 'the access token is refused after logout');
  assert.is((await api('POST', '/auth/refresh', { refresh_token: login.data.refresh_token })).status, 401, 'the refresh token is refused after logout');
});

test('browser flow against the containers', async () => {
  const port = (await running()).frontendPort;
  mkdirSync('test-artifacts', { recursive: true });
  await runBrowserFlow(`http://127.0.0.1:${port}`, 'test-artifacts/browser-containers.png');
});

test('no secret, mirror setting or context marker is recorded in either image', async () => {
  await ready(s.backendBuild, 'the backend image');
  await ready(s.frontendBuild, 'the frontend image');
  const builder = need(suite.builder, 'the image builder');
  const { pg } = await running();
  const forbidden = forbiddenInImages({ secrets: [AUTH_SECRET], marker: suite.marker, databaseUrl: pg.url, buildArgs: { ...builder.pipArgs, ...builder.npmArgs } });
  for (const image of [BACKEND_TAG, FRONTEND_TAG]) await assertNothingRecorded(image, forbidden);
});

test('APP_MODULE picks the ASGI app: src.main:app and main:app layouts run from the same Dockerfile', async () => {
  await ready(s.backendBuild, 'the backend image');
  const builder = need(suite.builder, 'the image builder');
  const ctx = copyContext(BACKEND_DIR);
  suite.contexts.push(ctx);
  // Same requirements as the real backend, so the dependency layers come from the cache.
  const app = 'from fastapi import FastAPI\napp = FastAPI()\n\n\n@app.get("/health")\ndef health():\n    return {"layout": __name__}\n';
  rmSync(join(ctx, 'app'), { recursive: true, force: true });
  mkdirSync(join(ctx, 'src'), { recursive: true });
  writeFileSync(join(ctx, 'src', '__init__.py'), '');
  writeFileSync(join(ctx, 'src', 'main.py'), app);
  writeFileSync(join(ctx, 'main.py'), app);
  copyFileSync(join(BACKEND_DIR, 'requirements.txt'), join(ctx, 'requirements.txt'));
  await builder.buildBackend({ context: ctx, tag: APPMOD_TAG });
  for (const [module, layout] of [['src.main:app', 'src.main'], ['main:app', 'main']] as const) {
    const port = await freePort();
    const c = await suite.start(APPMOD_TAG, 'appmodule', { APP_MODULE: module, PORT: String(port) });
    await waitHealthy(c, 60_000);
    const res = await fetch(`http://127.0.0.1:${port}/health`);
    assert.equal(await res.json(), { layout });
    await removeContainers(c);
  }
});

test('SIGTERM stops both containers promptly (PID 1 is the server, not a shell)', async () => {
  // Containers of its own, so stopping them leaves the shared app to the other tests.
  const { pg } = await running();
  const [backendPort, frontendPort] = [await freePort(), await freePort()];
  const backend = await suite.start(BACKEND_TAG, 'stop-backend', backendEnv(pg.url, backendPort));
  const frontend = await suite.start(FRONTEND_TAG, 'stop-frontend', frontendEnv(frontendPort, backendPort));
  await Promise.all([waitHealthy(backend, 120_000), waitHealthy(frontend, 120_000)]);
  for (const c of [frontend, backend]) await assertStopsPromptly(c);
});

test.run();
