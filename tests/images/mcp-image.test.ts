// Builds docker/mcp.Dockerfile on the stand-in Python base, runs it hardened against a throwaway PostgreSQL, and checks the user, the probes, a tool call with an identity token, SIGTERM, and that no secret or mirror is recorded.
import { spawnSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { freePort } from '../../scripts/lib/core/net.ts';
import {
  type Container,
  DOCKER,
  HARDENED,
  type ImageBuilder,
  buildImage,
  containerLogs,
  copyContext,
  docker,
  ensureEngine,
  execIn,
  history,
  inspectImage,
  prepareImageBuilds,
  pruneSupersededBuilds,
  removeContainers,
  repoRoot,
  run,
  runContainer,
  waitHealthy,
} from '../lib/docker.ts';
import { type Postgres, startPostgres } from '../lib/postgres.ts';
import { ensureMcpVenv } from '../mcp/venv.ts';

const MCP_DOCKERFILE = join(repoRoot, 'docker', 'mcp.Dockerfile');
const MCP_DIR = join(repoRoot, 'app', 'mcp');
const TAG = 'taskflow-test/mcp:test';
// Put into .env files of the build context: it must never reach the image.
const MARKER = `dockerignore-marker-${randomBytes(6).toString('hex')}`;
const SECRET = randomBytes(36).toString('base64url');
const FAST_HEALTH = ['--health-interval', '2s', '--health-start-period', '60s'];

type ImageConfig = {
  Config: {
    User: string;
    Env: string[] | null;
    Cmd: string[] | null;
    Entrypoint: string[] | null;
    ExposedPorts: Record<string, unknown> | null;
    Healthcheck?: { Test: string[] };
  };
};

type BuildOutcome = { ok: true; seconds: number } | { ok: false; error: Error };

const s: {
  builder?: ImageBuilder;
  build?: Promise<BuildOutcome>;
  pg?: Postgres;
  server?: Container;
  port?: number;
  userId?: number;
  contexts: string[];
  containers: Container[];
} = { contexts: [], containers: [] };

function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`${what} is not available: an earlier step failed`);
  return value;
}

const log = (line: string) => process.stdout.write(`\n  ${line}`);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function built(): Promise<number> {
  const r = await need(s.build, 'the MCP image build');
  if (!r.ok) throw r.error;
  return r.seconds;
}

/** Polls `check` until it returns a value, failing after `timeoutMs` with the last thing it saw. */
async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = 'nothing yet';
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    await sleep(250);
  }
  throw new Error(`${what}: not within ${timeoutMs / 1000} s (last: ${last instanceof Error ? last.message : String(last)})`);
}

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

// The runner ends a file that overruns with SIGTERM, which skips uvu's after hook.
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    if (s.containers.length) spawnSync(DOCKER, ['rm', '-f', ...s.containers.map((c) => c.name)], { stdio: 'ignore' });
    for (const c of s.contexts) rmSync(c, { recursive: true, force: true });
    process.exit(1);
  });
}

test.before(async () => {
  try {
    await ensureEngine();
    const b = await prepareImageBuilds(log);
    s.builder = b;
    if (!b.pipArgs.PIP_INDEX_URL?.startsWith('http')) throw new Error(`no pip index URL for the build: ${JSON.stringify(b.pipArgs)}`);
    const ctx = copyContext(MCP_DIR);
    s.contexts.push(ctx);
    for (const name of ['.env', '.env.local']) writeFileSync(join(ctx, name), `MCP_SHARED_SECRET=${MARKER}\n`);
    mkdirSync(join(ctx, 'tests'), { recursive: true });
    writeFileSync(join(ctx, 'tests', 'marker.txt'), MARKER);
    s.build = buildImage({ dockerfile: MCP_DOCKERFILE, context: ctx, tag: TAG, buildArgs: { BASE_IMAGE: b.bases.python, ...b.pipArgs } }).then(
      (r) => ({ ok: true as const, seconds: r.seconds }),
      (error: unknown) => ({ ok: false as const, error: error instanceof Error ? error : new Error(String(error)) }),
    );
  } catch (err) {
    // uvu's runner drops a hook's error: print it, or every test would fail with no reason.
    process.stderr.write(`\n  mcp image suite setup failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    throw err;
  }
});

test.after(async () => {
  await removeContainers(...s.containers);
  await s.pg?.stop().catch(() => undefined);
  await s.builder?.close().catch(() => undefined);
  for (const c of s.contexts) rmSync(c, { recursive: true, force: true });
  await pruneSupersededBuilds().catch(() => undefined);
});

test('the Dockerfile pulls nothing, names no secret and keeps mirrors to build-stage ARGs', () => {
  const text = readFileSync(MCP_DOCKERFILE, 'utf8');
  assert.not.match(text, /^#\s*syntax\s*=/im, 'a syntax directive would pull an image');
  assert.match(text, /^ARG BASE_IMAGE=python:3\.12-slim$/m);
  const code = text.split('\n').filter((l) => !/^\s*#/.test(l)).join('\n');
  assert.not.match(code, /^\s*(ENV|ARG)\s+\S*(SECRET|PASSWORD|TOKEN|API_KEY|DATABASE_URL)/im, 'no secret as ENV/ARG');
  assert.not.match(code, /\bcurl\b|\bwget\b|\buseradd\b|\badduser\b/, 'uses a tool a slim base lacks');
  assert.not.match(code.slice(code.lastIndexOf('\nFROM ')), /^\s*ARG\s+PIP_/m, 'mirror ARG in the final stage');
});

test('the image builds from docker/mcp.Dockerfile', async () => {
  log(`mcp image built in ${(await built()).toFixed(1)} s`);
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
  const out = await docker([
    'run', '--rm', '--network', 'host', ...HARDENED, '--entrypoint', 'sh', TAG, '-c',
    [
      'test -d /app/taskflow_mcp && echo package',
      'test -e /opt/venv/bin/pip && echo pip-script',
      'python -c "import pip" 2>/dev/null && echo pip-module',
      'test -e /app/tests && echo tests',
      'ls -a /app | grep -E "^\\.env" || true',
      `grep -rl ${MARKER} /app /opt 2>/dev/null || true`,
      'id -u',
    ].join('; '),
  ]);
  assert.match(out, /^package$/m);
  for (const bad of ['pip-script', 'pip-module', 'tests', '.env', MARKER]) assert.not.ok(out.split('\n').some((l) => l.includes(bad)), `image has ${bad}:\n${out}`);
  assert.match(out, /^1000$/m);
});

test('the server runs read-only as uid 1000: live at once, ready once the backend has created the tables', async () => {
  await built();
  s.pg = await startPostgres();
  s.port = await freePort();
  s.server = await runContainer({
    image: TAG,
    name: `taskflow-test-mcp-${randomBytes(3).toString('hex')}`,
    env: { DATABASE_URL: s.pg.url, MCP_SHARED_SECRET: SECRET, PORT: String(s.port) },
    extraArgs: [...HARDENED, ...FAST_HEALTH],
  });
  s.containers.push(s.server);
  const port = s.port;
  const live = await waitFor('/health/live answers', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/health/live`, { signal: AbortSignal.timeout(2000) });
    return res.status === 200 ? res.json() : undefined;
  });
  assert.equal(live, { status: 'ok' });
  const notReady = await fetch(`http://127.0.0.1:${port}/health`);
  assert.is(notReady.status, 503);
  assert.equal(await notReady.json(), { status: 'error', database: 'no tasks table yet' });

  s.userId = await migrateAndAddUser(s.pg.url);
  await waitHealthy(s.server, 60_000);
  assert.is(await execIn(s.server, ['id', '-u']), '1000');
  assert.is(await execIn(s.server, ['id', '-g']), '1000');
  const write = await run(DOCKER, ['exec', s.server.name, 'sh', '-c', 'touch /app/x 2>&1 || echo refused; touch /tmp/x && echo tmp-ok']);
  assert.match(write.stdout, /refused/);
  assert.match(write.stdout, /tmp-ok/);
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
  const builder = need(s.builder, 'the image builder');
  const dbPassword = s.pg ? decodeURIComponent(new URL(s.pg.url).password) : '';
  const forbidden = [
    SECRET,
    MARKER,
    ...(dbPassword.length >= 6 ? [dbPassword] : []),
    'PIP_INDEX_URL',
    ...Object.keys(builder.pipArgs),
    ...Object.values(builder.pipArgs).flatMap((v) => v.split(' ')),
  ];
  const recorded = [(await history(TAG)).map((h) => h.createdBy).join('\n'), await docker(['image', 'inspect', TAG])].join('\n');
  for (const value of forbidden) assert.not.ok(recorded.includes(value), `the image records ${value.length > 12 ? `${value.slice(0, 4)}…` : value}`);
});

test('SIGTERM stops the container promptly (PID 1 is the server, not a shell)', async () => {
  const c = need(s.server, 'the MCP container');
  const started = Date.now();
  await docker(['stop', '-t', '20', c.name], { timeoutMs: 60_000 });
  const seconds = (Date.now() - started) / 1000;
  const code = await docker(['inspect', '--format', '{{.State.ExitCode}}', c.name]);
  assert.ok(seconds < 15, `took ${seconds.toFixed(1)} s to stop (signal not handled?)`);
  assert.ok(code === '0' || code === '143', `exited ${code} on SIGTERM:\n${await containerLogs(c)}`);
});

test.run();
