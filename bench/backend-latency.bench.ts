// Benchmark (not a test): the backend's latency percentiles and throughput for the smoke requests.
//
//   npx tsx bench/backend-latency.bench.ts      (starts PostgreSQL + the backend as local processes)
//
// Each request (health, list tasks, create task, login) runs ~10 s at 10 and at 50 concurrent
// connections with autocannon, against 127.0.0.1 only. Login is bcrypt-bound by design (cost 12 unless
// BCRYPT_ROUNDS says otherwise), so its numbers measure the password hash more than the service;
// only requests answered within a run's 10 s are counted, so a deep login queue shows as few, slow rows.
// `benchBackend(baseUrl)` is exported so a container bench can point the same load at an image.
import autocannon from 'autocannon';
import { fileURLToPath } from 'node:url';
import { startBackend } from '../tests/lib/backend.ts';
import { startPostgres } from '../tests/lib/postgres.ts';
import { runMain } from './main.ts';

export type BenchOptions = {
  apiPrefix?: string;
  connections?: number[];
  durationSeconds?: number;
  log?: (line: string) => void;
};

export type BenchRow = {
  request: string;
  connections: number;
  requests: number;
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  non2xx: number;
  errors: number;
};

export type Scenario = { name: string; method: 'GET' | 'POST'; path: string; headers?: Record<string, string>; body?: string };

/** Load is only ever sent to this machine. */
export function assertLoopback(baseUrl: string): URL {
  const url = new URL(baseUrl);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!(host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host))) {
    throw new Error(`refusing to benchmark ${url.host}: only loopback addresses (127.0.0.0/8, localhost, ::1) are allowed`);
  }
  return url;
}

type Auth = { access_token: string; user: { email: string } };

async function call<T>(base: string, path: string, init: { method: string; body?: unknown; token?: string }): Promise<T> {
  const res = await fetch(`${base}${path}`, {
    method: init.method,
    headers: {
      'content-type': 'application/json',
      ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
    },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${init.method} ${path} -> ${res.status}: ${text.slice(0, 200)}`);
  return (text ? JSON.parse(text) : null) as T;
}

/** The middle of several rounds' figures, which benches report so one noisy round does not decide. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] ?? NaN;
}

export function runOne(url: string, scenario: Scenario, connections: number, durationSeconds: number): Promise<BenchRow> {
  return new Promise((resolve, reject) => {
    // autocannon's histogram has p90 and p97.5 but no p95, so every response time is kept and ranked.
    const times: number[] = [];
    const instance = autocannon(
      {
        url: `${url}${scenario.path}`,
        method: scenario.method,
        headers: { 'content-type': 'application/json', ...scenario.headers },
        body: scenario.body,
        connections,
        duration: durationSeconds,
        // Login at 50 connections queues behind bcrypt for seconds; a timeout would hide that.
        timeout: 60,
      },
      (err: unknown, result: autocannon.Result) => {
        if (err) return reject(err);
        times.sort((a, b) => a - b);
        resolve({
          request: scenario.name,
          connections,
          requests: result.requests.total,
          rps: result.requests.total / (result.duration || durationSeconds),
          p50: percentile(times, 50),
          p95: percentile(times, 95),
          p99: percentile(times, 99),
          non2xx: result.non2xx,
          errors: result.errors + result.timeouts,
        });
      },
    );
    instance.on('response', (_client: unknown, _status: number, _bytes: number, responseTime: number) => {
      times.push(responseTime);
    });
  });
}

function markdown(rows: BenchRow[]): string {
  const ms = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '–');
  const lines = [
    '| request | connections | requests | req/s | p50 ms | p95 ms | p99 ms | non-2xx | errors |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map(
      (r) =>
        `| ${r.request} | ${r.connections} | ${r.requests} | ${r.rps.toFixed(1)} | ${ms(r.p50)} | ${ms(r.p95)} | ${ms(r.p99)} | ${r.non2xx} | ${r.errors} |`,
    ),
  ];
  return lines.join('\n');
}

/** Signs up bench users, loads the four smoke requests, prints and returns a Markdown table. */
export async function benchBackend(baseUrl: string, options: BenchOptions = {}): Promise<{ rows: BenchRow[]; table: string }> {
  const base = assertLoopback(baseUrl).origin;
  const prefix = options.apiPrefix ?? '/api/v1';
  const api = `${base}${prefix}`;
  const connections = options.connections ?? [10, 50];
  const duration = options.durationSeconds ?? 10;
  const log = options.log ?? ((line: string) => console.log(line));

  const stamp = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const password = 'bench-password-123';
  const signUp = (who: string) =>
    call<Auth>(api, '/auth/signup', { method: 'POST', body: { email: `bench-${who}-${stamp}@example.com`, password, name: `bench ${who}` } });
  // Separate users, so the tasks the create run adds don't grow the list the list run reads.
  const reader = await signUp('reader');
  const writer = await signUp('writer');
  const loginUser = await signUp('login');
  for (let i = 1; i <= 20; i++) {
    await call<unknown>(api, '/tasks', { method: 'POST', token: reader.access_token, body: { title: `bench task ${i}`, description: 'seeded for the list benchmark' } });
  }

  const scenarios: Scenario[] = [
    { name: 'GET /health', method: 'GET', path: '/health' },
    { name: 'GET /tasks', method: 'GET', path: `${prefix}/tasks`, headers: { authorization: `Bearer ${reader.access_token}` } },
    {
      name: 'POST /tasks',
      method: 'POST',
      path: `${prefix}/tasks`,
      headers: { authorization: `Bearer ${writer.access_token}` },
      body: JSON.stringify({ title: 'load test task', description: 'created by the latency benchmark' }),
    },
    {
      name: 'POST /auth/login',
      method: 'POST',
      path: `${prefix}/auth/login`,
      body: JSON.stringify({ email: loginUser.user.email, password }),
    },
  ];

  // A short warm-up so the first measured run doesn't pay for connection pools and imports.
  await runOne(base, scenarios[0]!, 5, 1);
  const rows: BenchRow[] = [];
  for (const c of connections) {
    for (const scenario of scenarios) {
      log(`  ${scenario.name} with ${c} connections for ${duration}s…`);
      rows.push(await runOne(base, scenario, c, duration));
    }
  }
  const table = markdown(rows);
  log(`\n${table}\n`);
  return { rows, table };
}

// uvicorn's access log: `INFO:     127.0.0.1:5000 - "GET /health HTTP/1.1" 200 OK`.
export const ACCESS_LOG = /"[A-Z]+ \S+ HTTP\/[\d.]+" \d{3}/;

async function main(): Promise<void> {
  const started = Date.now();
  const pg = await startPostgres();
  let backend: Awaited<ReturnType<typeof startBackend>> | undefined;
  try {
    // The backend's own per-request log line would dominate the run; only warnings are kept.
    backend = await startBackend({
      databaseUrl: pg.url,
      env: { LOG_LEVEL: 'WARNING' },
      onLog: (line) => {
        if (!ACCESS_LOG.test(line)) process.stderr.write(`[backend] ${line}\n`);
      },
    });
    console.log(`backend (local uvicorn, 1 worker) at ${backend.url}, PostgreSQL 127.0.0.1:${pg.port}\n`);
    await benchBackend(backend.url);
    console.log(`total ${((Date.now() - started) / 1000).toFixed(0)}s`);
  } finally {
    await backend?.stop();
    await pg.stop();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) runMain(main);
