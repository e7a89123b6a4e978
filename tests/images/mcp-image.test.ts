// Builds docker/mcp.Dockerfile on the stand-in Python base, runs it hardened against a throwaway PostgreSQL, and checks the user, the probes, a tool call with an identity token, SIGTERM, and that no secret or mirror is recorded.
import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { freePort } from '../../scripts/lib/core/net.ts';
import { type Container, containerLogs, inspectImage, MCP_DIR, MCP_DOCKERFILE, repoRoot, run, waitHealthy } from '../lib/docker.ts';
import { startPostgres } from '../lib/postgres.ts';
import { until } from '../lib/wait.ts';
import { ensureMcpVenv } from '../mcp/venv.ts';
import { assertDockerfileRules, assertNothingRecorded, assertRunsHardened, assertRuntimeOnly, assertStopsPromptly, forbiddenInImages, type ImageConfig, imageSuite, log, need, type Outcome, ready, settle } from './harness.ts';

const TAG = 'taskflow-test/mcp:test';
const SECRET = randomBytes(36).toString('base64url');

const suite = imageSuite('mcp image suite');
const s: { build?: Promise<Outcome<{ seconds: number }>>; server?: Container; port?: number; userId?: number } = {};

const built = () => ready(s.build, 'the MCP image build');

/** An identity token as app/mcp/README.md specifies it, made here the way the backend would make it. */
function identityToken(userId: number, secret = SECRET): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const unsigned = `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ iss: 'taskflow-backend', aud: 'taskflow-mcp', sub: String(userId), iat: now, exp: now + 120 })}`;
  return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`;
}

/** Creates the backend's tables with the backend's own models, plus one user; returns the user's id. */
async function migrateAndAddUser(databaseUrl: string): Promise<number> {
  const python = await ensureMcpVenv();
  const script = [
    'import os, sys',
    "sys.path.insert(0, os.path.join('app', 'backend'))",
    'from sqlalchemy import create_engine, text',
    'from app.config import normalise_database_url',
    'from app.db import create_schema',
    "engine = create_engine(normalise_database_url(os.environ['DATABASE_URL']))",
    'create_schema(engine)',
    'with engine.begin() as conn:',
    "    print(conn.execute(text(\"INSERT INTO users (email, name, password_hash) VALUES ('image@example.com', 'Image', 'x') RETURNING id\")).scalar_one())",
  ].join('\n');
  // The URL (with its password) goes through the environment, not argv.
  const r = await run(python, ['-c', script], { cwd: repoRoot, env: { ...process.env, DATABASE_URL: databaseUrl }, timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`creating the backend's tables failed:\n${r.stderr}`);
  return Number(r.stdout.trim());
}

async function callTool(port: number, name: string, args: object, token?: string): Promise<Response> {
  return fetch(`http://127.0.0.1:${port}/mcp`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: args } }),
    signal: AbortSignal.timeout(10_000),
  });
}

test.before(async () => {
  const b = await suite.prepare();
  s.build = settle(b.buildMcp({ context: suite.plantedContext(MCP_DIR, 'MCP_SHARED_SECRET'), tag: TAG }));
});

test.after(() => suite.cleanup());

test('the Dockerfile pulls nothing, names no secret and keeps mirrors to build-stage ARGs', () => {
  assertDockerfileRules(MCP_DOCKERFILE);
  assert.match(readFileSync(MCP_DOCKERFILE, 'utf8'), /^ARG BASE_IMAGE=python:3\.12-slim$/m);
});

test('the image builds from docker/mcp.Dockerfile', async () => {
  log(`mcp image built in ${(await built()).seconds.toFixed(1)} s`);
});

test('image metadata: numeric non-root user, port 8001, a healthcheck on /health, an exec-form command', async () => {
  await built();
  const c = (await inspectImage<ImageConfig>(TAG)).Config;
  assert.is(c.User, '1000:1000');
  assert.ok(c.ExposedPorts && '8001/tcp' in c.ExposedPorts, 'EXPOSE 8001');
  const health = (c.Healthcheck?.Test ?? []).join(' ');
  assert.match(health, /urllib/);
  assert.match(health, /\/health/);
  for (const e of ['PYTHONDONTWRITEBYTECODE=1', 'PYTHONUNBUFFERED=1', 'PORT=8001', 'HOME=/tmp']) assert.ok((c.Env ?? []).includes(e), `ENV ${e}`);
  assert.equal([...(c.Entrypoint ?? []), ...(c.Cmd ?? [])], ['python', '-m', 'taskflow_mcp']);
});

test('the image holds only the runtime: no pip, tests, .env or context marker', async () => {
  await built();
  await assertRuntimeOnly(TAG, {
    marker: suite.marker,
    searched: ['/app', '/opt'],
    probes: ['test -d /app/taskflow_mcp && echo package', 'test -e /opt/venv/bin/pip && echo pip-script', 'python -c "import pip" 2>/dev/null && echo pip-module'],
    present: ['package'],
    absent: ['pip-script', 'pip-module'],
    uid: '1000',
  });
});

test('the server runs read-only as uid 1000: live at once, ready once the backend has created the tables', async () => {
  await built();
  const pg = await startPostgres();
  suite.pg = pg;
  const port = await freePort();
  s.port = port;
  s.server = await suite.start(TAG, 'mcp', { DATABASE_URL: pg.url, MCP_SHARED_SECRET: SECRET, PORT: String(port) });
  const liveAnswer = async (seen: (state: string) => void) => {
    const res = await fetch(`http://127.0.0.1:${port}/health/live`, { signal: AbortSignal.timeout(2000) });
    seen(`HTTP ${res.status}`);
    return res.status === 200 ? ((await res.json()) as unknown) : undefined;
  };
  const live = await until('/health/live to answer', liveAnswer, { timeoutMs: 60_000, intervalMs: 250 });
  assert.equal(live, { status: 'ok' });
  const notReady = await fetch(`http://127.0.0.1:${port}/health`);
  assert.is(notReady.status, 503);
  assert.equal(await notReady.json(), { status: 'error', database: 'no tasks table yet' });

  s.userId = await migrateAndAddUser(pg.url);
  await waitHealthy(s.server, 60_000);
  await assertRunsHardened(s.server, '1000');
});

test('a tool call with an identity token acts for that user; without a valid one it is refused', async () => {
  const port = need(s.port, 'the MCP container');
  const userId = need(s.userId, 'the test user');
  const res = await callTool(port, 'add_task', { title: 'From the image test' }, identityToken(userId));
  assert.is(res.status, 200, await res.clone().text());
  const body = (await res.json()) as { result: { isError?: boolean; structuredContent: { title: string; completed: boolean } } };
  assert.not.ok(body.result.isError, JSON.stringify(body));
  assert.is(body.result.structuredContent.title, 'From the image test');
  assert.is(body.result.structuredContent.completed, false);
  assert.is((await callTool(port, 'list_tasks', {})).status, 401, 'no token');
  assert.is((await callTool(port, 'list_tasks', {}, identityToken(userId, 'not-the-shared-secret-at-all-1234567890'))).status, 401, 'wrong secret');
  const logs = await containerLogs(need(s.server, 'the MCP container'));
  assert.not.ok(logs.includes(SECRET), 'the log shows the shared secret');
});

test('no secret, mirror setting or context marker is recorded in the image', async () => {
  await built();
  const builder = need(suite.builder, 'the image builder');
  await assertNothingRecorded(TAG, forbiddenInImages({ secrets: [SECRET], marker: suite.marker, databaseUrl: suite.pg?.url, buildArgs: builder.pipArgs }));
});

test('SIGTERM stops the container promptly (PID 1 is the server, not a shell)', async () => {
  await assertStopsPromptly(need(s.server, 'the MCP container'));
});

test.run();
