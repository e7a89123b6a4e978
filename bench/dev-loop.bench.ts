// The dev loop against the fake CLIs: from saving a backend file to "ready" (rebuilt in the node's
// daemon on minikube's default docker runtime, rolled, pods ready), and the process calls one
// cycle makes. Beside it, its baseline from the same run: the same edit followed by a `setup` rerun,
// what one does without dev. Each with instant
// fakes (the toolkit's own time) and with every fake call taking FAKE_CLI_LATENCY_MS, as a real
// CLI does. dev runs with --no-port-forward: the fakes have no pods to answer through a tunnel.
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from '../scripts/lib/core/wait.ts';
import type { CycleResult } from '../scripts/lib/dev/loop.ts';
import { collect, FakeMachine, mutating } from '../tests/lib/fake-machine.ts';

const CYCLES = 3;
const LATENCY_MS = 300;
const DEBOUNCE_MS = 300;

type Row = { ms: number; calls: number; mutating: number };
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const edit = (m: FakeMachine, n: number) => appendFileSync(join(m.contexts.backend as string, 'app', 'main.py'), `\n# bench edit ${n} ${Date.now()}\n`);

/** Cycles of dev: each edit's readyMs as dev measured it, and the calls the cycle made. */
async function devCycles(latency: number): Promise<Row[]> {
  const m = await FakeMachine.deployed();
  const env: Record<string, string> = latency ? { FAKE_CLI_LATENCY_MS: String(latency) } : {};
  const child = m.spawn('dev.ts', ['--no-port-forward', '--json', '--debounce', String(DEBOUNCE_MS)], env);
  const done = collect(child, 600_000);
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const rows: Row[] = [];
  try {
    await waitFor(() => /^watching /m.test(err), { timeout: 120_000, interval: 50, describe: 'dev to watch', onTimeout: () => new Error(err) });
    for (let i = 0; i < CYCLES; i++) {
      m.clearCalls();
      const seen = out.split('\n').filter(Boolean).length;
      edit(m, i);
      const line = await waitFor(() => out.split('\n').filter(Boolean)[seen], { timeout: 120_000, interval: 20, describe: 'a cycle', onTimeout: () => new Error(err) });
      const r = JSON.parse(line) as CycleResult;
      if (!r.ok) throw new Error(`cycle failed: ${r.error}`);
      rows.push({ ms: r.readyMs ?? 0, calls: m.calls().length, mutating: mutating(m.calls()).length });
    }
  } finally {
    child.kill('SIGINT');
    await done;
    m.remove();
  }
  return rows;
}

/** The baseline: the same edit, then `setup`, timed from the save to setup's exit. */
async function setupReruns(latency: number): Promise<Row[]> {
  const m = await FakeMachine.deployed();
  const env: Record<string, string> = latency ? { FAKE_CLI_LATENCY_MS: String(latency) } : {};
  const rows: Row[] = [];
  try {
    for (let i = 0; i < CYCLES; i++) {
      m.clearCalls();
      const t = Date.now();
      edit(m, i);
      const r = await m.run('setup.ts', [], env);
      if (r.code !== 0) throw new Error(r.output);
      rows.push({ ms: Date.now() - t, calls: m.calls().length, mutating: mutating(m.calls()).length });
    }
  } finally {
    m.remove();
  }
  return rows;
}

const results: { name: string; latency: number; rows: Row[] }[] = [];
for (const latency of [0, LATENCY_MS]) {
  results.push({ name: 'edit, then setup (baseline)', latency, rows: await setupReruns(latency) });
  results.push({ name: 'dev cycle', latency, rows: await devCycles(latency) });
}

console.log(`One backend file saved, median of ${CYCLES}; dev's time includes its ${DEBOUNCE_MS} ms debounce:\n`);
console.log('| run | fake call latency | save → ready ms | process calls | of which change something |\n|---|---|---|---|---|');
for (const r of results) {
  console.log(`| ${r.name} | ${r.latency} ms | ${median(r.rows.map((x) => x.ms))} | ${median(r.rows.map((x) => x.calls))} | ${median(r.rows.map((x) => x.mutating))} |`);
}
