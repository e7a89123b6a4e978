// The smoke workflow against the real backend on PostgreSQL, then against proxies that break one
// promise each (isolation, task creation, logout), so each failure is caught by the right step.
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { formatSmokeStep, runSmoke, smokeStepNames, type SmokeReport } from '../../scripts/lib/validate/smoke.ts';
import { startBackend, type Backend } from '../lib/backend.ts';
import { startPostgres, type Postgres } from '../lib/postgres.ts';

/** Decides about one request before it reaches the backend: answer it, or pass it on with these headers. */
type Hook = (req: IncomingMessage, res: ServerResponse) => { handled: true } | { handled: false; headers?: Record<string, string> };

type Proxy = { url: string; stop(): Promise<void> };

/** A tiny HTTP proxy on 127.0.0.1 in front of the backend, breaking it the way hook says. */
function startProxy(target: string, hook: Hook): Promise<Proxy> {
  const upstream = new URL(target);
  const server: Server = createServer((req, res) => {
    const verdict = hook(req, res);
    if (verdict.handled) return;
    const headers = { ...req.headers, ...verdict.headers, host: upstream.host };
    const out = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    out.on('error', (err) => {
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`proxy: ${err.message}`);
    });
    req.pipe(out);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      resolve({
        url: `http://127.0.0.1:${port}`,
        stop: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}

function describe(report: SmokeReport): string {
  return report.steps.map(formatSmokeStep).join('\n');
}

const api = '/api/v1';
let pg: Postgres | undefined;
let backend: Backend | undefined;
const proxies: Proxy[] = [];

const smoke = suite('smoke workflow');

smoke.before(async () => {
  pg = await startPostgres();
  backend = await startBackend({ databaseUrl: pg.url, onLog: () => {} });
});

smoke.after(async () => {
  try {
    for (const p of proxies) await p.stop();
  } finally {
    try {
      await backend?.stop();
    } finally {
      await pg?.stop();
    }
  }
});

async function broken(hook: Hook): Promise<string> {
  const proxy = await startProxy(backend!.url, hook);
  proxies.push(proxy);
  return proxy.url;
}

smoke('every step passes against the real backend on PostgreSQL', async () => {
  const report = await runSmoke(backend!.url, { healthPath: '/health' });
  assert.ok(report.ok, describe(report));
  assert.equal(report.steps.map((s) => s.name), [...smokeStepNames]);
  assert.ok(report.steps.every((s) => s.ok && s.ms >= 0 && s.evidence === undefined));
  assert.is(report.failed, undefined);
});

smoke('a backend that is down fails the health step with the connection error', async () => {
  const dead = await broken((_req, res) => {
    res.destroy();
    return { handled: true };
  });
  const report = await runSmoke(dead, { healthPath: '/health' });
  assert.not.ok(report.ok);
  assert.is(report.failed, 'health');
  assert.is(report.steps.length, 1);
  assert.match(report.steps[0]?.evidence ?? '', /fetch failed|socket|ECONNRESET/i);
});

smoke('the frontend health path is the default', async () => {
  const report = await runSmoke(backend!.url);
  assert.is(report.failed, 'health');
  assert.match(report.steps[0]?.evidence ?? '', /GET \/api\/health → 404/);
});

smoke('a backend that shows every user all tasks fails user isolation', async () => {
  // The first bearer token used on /tasks is served to everyone afterwards, as if the
  // backend ignored which user is asking.
  let owner: string | undefined;
  const url = await broken((req) => {
    if (!req.url?.startsWith(`${api}/tasks`) || !req.headers.authorization) return { handled: false };
    owner ??= req.headers.authorization;
    return { handled: false, headers: { authorization: owner } };
  });
  const report = await runSmoke(url, { healthPath: '/health' });
  assert.is(report.failed, 'user isolation', describe(report));
  assert.ok(report.steps.slice(0, -1).every((s) => s.ok));
  assert.match(report.steps.at(-1)?.evidence ?? '', /second user sees the first user's task/);
});

smoke('a backend whose POST /tasks answers 500 fails task creation with the status and body', async () => {
  const url = await broken((req, res) => {
    if (req.method !== 'POST' || req.url !== `${api}/tasks`) return { handled: false };
    res.writeHead(500, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ detail: 'Internal Server Error' }));
    return { handled: true };
  });
  const report = await runSmoke(url, { healthPath: '/health' });
  assert.is(report.failed, 'create task', describe(report));
  assert.equal(report.steps.map((s) => s.name), ['health', 'sign up', 'log in', 'create task']);
  assert.is(report.steps.at(-1)?.evidence, `expected 201: POST ${api}/tasks → 500 {"detail":"Internal Server Error"}`);
});

smoke('a backend that keeps accepting the token after logout fails the revocation check', async () => {
  // Logout answers success without revoking anything.
  const url = await broken((req, res) => {
    if (req.method !== 'POST' || req.url !== `${api}/auth/logout`) return { handled: false };
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status: 'logged_out' }));
    return { handled: true };
  });
  const report = await runSmoke(url, { healthPath: '/health' });
  assert.is(report.failed, 'old access token refused', describe(report));
  assert.match(report.steps.at(-1)?.evidence ?? '', new RegExp(`expected 401: GET ${api}/auth/me → 200`));
  // The reply carries the user, never a token.
  assert.not.match(report.steps.at(-1)?.evidence ?? '', /eyJ/);
});

smoke.run();
