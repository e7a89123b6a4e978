// Benchmark (not a test): how close GET /api/v1/tasks comes to the ceiling, a lean app doing the same work.
//
//   npx tsx bench/api-ceiling.bench.ts      (or `make bench ARGS=api-ceiling`)
//
// bench/ceiling_app.py verifies the same token, runs the same session lookup and task query and answers
// with the same bytes, with nothing else in the way (no ORM, no thread hops). Both run under the same
// uvicorn from the backend's venv, against one PostgreSQL and one seeded user with 20 tasks, and take
// turns: backend, ceiling, three times, 50 connections for 8 s each, so noise from whatever else the
// machine is doing falls on both. The machine's speed cancels out of the ratios, which are the goal:
// the backend at ≥ 0.8× the ceiling's req/s and ≤ 1.25× its p99. Absolute figures are printed too.
// BENCH_ROUNDS and BENCH_SECONDS shorten a run while working on it.
import { fileURLToPath } from 'node:url';
import { startBackend, type Backend } from '../tests/lib/backend.ts';
import { startPostgres } from '../tests/lib/postgres.ts';
import { ACCESS_LOG, median, runOne, type BenchRow, type Scenario } from './backend-latency.bench.ts';
import { runMain } from './main.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const CONNECTIONS = 50;
const TASKS = 20;
const GOAL_RPS_RATIO = 0.8;
const GOAL_P99_RATIO = 1.25;

type Auth = { access_token: string };
type Server = { name: string; backend: Backend };

async function post<T>(url: string, body: unknown, token?: string): Promise<T> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`POST ${url} -> ${res.status}: ${text.slice(0, 200)}`);
  return JSON.parse(text) as T;
}

/** The answer as the wire carries it: status, content type and the exact body bytes. */
async function answer(url: string, token: string): Promise<string> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  const body = Buffer.from(await res.arrayBuffer()).toString('hex');
  return `${res.status} ${res.headers.get('content-type')} ${body}`;
}

function table(results: Map<string, BenchRow[]>): string {
  const lines = ['| server | round | req/s | p50 ms | p99 ms | non-2xx | errors |', '| --- | ---: | ---: | ---: | ---: | ---: | ---: |'];
  for (const [name, rows] of results) {
    rows.forEach((r, i) =>
      lines.push(`| ${name} | ${i + 1} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(0)} | ${r.p99.toFixed(0)} | ${r.non2xx} | ${r.errors} |`),
    );
  }
  for (const [name, rows] of results) {
    lines.push(
      `| **${name}** | median | **${median(rows.map((r) => r.rps)).toFixed(0)}** | **${median(rows.map((r) => r.p50)).toFixed(0)}** | ` +
        `**${median(rows.map((r) => r.p99)).toFixed(0)}** | ${rows.reduce((n, r) => n + r.non2xx, 0)} | ${rows.reduce((n, r) => n + r.errors, 0)} |`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const started = Date.now();
  const pg = await startPostgres();
  const servers: Server[] = [];
  const quiet = (tag: string) => (line: string) => {
    if (!ACCESS_LOG.test(line)) process.stderr.write(`[${tag}] ${line}\n`);
  };
  try {
    const backend = await startBackend({ databaseUrl: pg.url, env: { LOG_LEVEL: 'WARNING' }, onLog: quiet('backend') });
    servers.push({ name: 'backend', backend });
    // The ceiling signs nothing: it checks the backend's tokens, so it gets the backend's secret.
    const ceiling = await startBackend({
      databaseUrl: pg.url,
      env: { BETTER_AUTH_SECRET: backend.secret },
      app: { target: 'ceiling_app:app', dir: fileURLToPath(new URL('.', import.meta.url)) },
      onLog: quiet('ceiling'),
    });
    servers.push({ name: 'ceiling', backend: ceiling });

    const api = `${backend.url}/api/v1`;
    const stamp = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
    const user = await post<Auth>(`${api}/auth/signup`, { email: `ceiling-${stamp}@example.com`, password: 'bench-password-123', name: 'bench reader' });
    for (let i = 1; i <= TASKS; i++) {
      await post(`${api}/tasks`, { title: `bench task ${i}`, description: 'seeded for the ceiling benchmark' }, user.access_token);
    }

    const path = '/api/v1/tasks';
    const answers = await Promise.all(servers.map((s) => answer(`${s.backend.url}${path}`, user.access_token)));
    if (!answers.every((a) => a === answers[0])) {
      throw new Error(`the ceiling does not answer like the backend:\n${servers.map((s, i) => `${s.name}: ${answers[i]!.slice(0, 300)}`).join('\n')}`);
    }
    if (!answers[0]!.startsWith('200 ')) throw new Error(`GET ${path} did not answer 200: ${answers[0]!.slice(0, 200)}`);
    console.log(`both answer GET ${path} with the same ${(answers[0]!.split(' ')[2]!.length / 2).toFixed(0)} bytes (${TASKS} tasks)`);
    console.log(`PostgreSQL 127.0.0.1:${pg.port}; ${ROUNDS} rounds, ${CONNECTIONS} connections, ${SECONDS}s each, servers alternating\n`);

    const scenario: Scenario = { name: `GET ${path}`, method: 'GET', path, headers: { authorization: `Bearer ${user.access_token}` } };
    // Warm-up: imports, pools and caches are paid for before anything is measured.
    for (const s of servers) await runOne(s.backend.url, scenario, 10, 2);
    const results = new Map<string, BenchRow[]>(servers.map((s) => [s.name, []]));
    for (let round = 1; round <= ROUNDS; round++) {
      for (const s of servers) {
        const row = await runOne(s.backend.url, scenario, CONNECTIONS, SECONDS);
        results.get(s.name)!.push(row);
        console.log(`  round ${round} ${s.name}: ${row.rps.toFixed(0)} req/s, p50 ${row.p50.toFixed(0)} ms, p99 ${row.p99.toFixed(0)} ms`);
      }
    }

    const b = results.get('backend')!;
    const c = results.get('ceiling')!;
    const rpsRatio = median(b.map((r) => r.rps)) / median(c.map((r) => r.rps));
    const p99Ratio = median(b.map((r) => r.p99)) / median(c.map((r) => r.p99));
    const verdict = (ok: boolean) => (ok ? 'goal met' : 'goal missed');
    console.log(`\n${table(results)}\n`);
    console.log(`backend / ceiling req/s: ${rpsRatio.toFixed(2)}× (goal ≥ ${GOAL_RPS_RATIO}×, ${verdict(rpsRatio >= GOAL_RPS_RATIO)})`);
    console.log(`backend / ceiling p99:   ${p99Ratio.toFixed(2)}× (goal ≤ ${GOAL_P99_RATIO}×, ${verdict(p99Ratio <= GOAL_P99_RATIO)})`);
    console.log(`total ${((Date.now() - started) / 1000).toFixed(0)}s`);
  } finally {
    for (const s of servers.reverse()) await s.backend.stop();
    await pg.stop();
  }
}

runMain(main);
