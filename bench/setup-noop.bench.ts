// A no-op `setup` rerun against the fake CLIs, with each fake call made to take a fixed latency
// (FAKE_CLI_LATENCY_MS) as a real CLI does. Reported beside its baseline from the same run: the
// process calls it makes (one round each, were they run one after another) against the rounds of
// calls on its critical path, and its wall time against calls × latency.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { FakeMachine } from '../tests/lib/fake-machine.ts';

const RUNS = 5;
const LATENCY_MS = 300;

type Timed = { tool: string; args: string[]; start: number; end: number };

/** The longest chain of calls each starting after the previous one ended: the sequential rounds. */
export function criticalRounds(calls: Timed[]): number {
  const byEnd = [...calls].sort((a, b) => a.end - b.end);
  const chain: number[] = [];
  byEnd.forEach((c, i) => {
    let best = 0;
    for (let j = 0; j < i; j++) if (byEnd[j]!.end <= c.start) best = Math.max(best, chain[j]!);
    chain[i] = best + 1;
  });
  return Math.max(0, ...chain);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const m = await FakeMachine.create();
const timingFile = `${m.statePath}.timing`;
const timings = (): Timed[] => (existsSync(timingFile) ? readFileSync(timingFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Timed) : []);
try {
  const first = await m.run('setup.ts');
  if (first.code !== 0) throw new Error(first.output);
  const rows: { calls: number; rounds: number; wall: number; instant: number }[] = [];
  for (let i = 0; i < RUNS; i++) {
    // Without latency: the toolkit's own time (node start, config, content hashing, the fakes' work).
    m.clearCalls();
    let t = Date.now();
    let r = await m.run('setup.ts');
    if (r.code !== 0) throw new Error(r.output);
    const instant = Date.now() - t;
    // With latency: what the ordering of the calls costs.
    m.clearCalls();
    writeFileSync(timingFile, '');
    t = Date.now();
    r = await m.run('setup.ts', [], { FAKE_CLI_LATENCY_MS: String(LATENCY_MS) });
    if (r.code !== 0) throw new Error(r.output);
    if (!/unchanged/.test(r.stdout)) throw new Error(`the rerun was not a no-op:\n${r.output}`);
    rows.push({ calls: m.calls().length, rounds: criticalRounds(timings()), wall: Date.now() - t, instant });
  }
  const calls = median(rows.map((r) => r.calls));
  const rounds = median(rows.map((r) => r.rounds));
  console.log(`No-op setup rerun, median of ${RUNS}, each fake call taking ${LATENCY_MS} ms:\n`);
  console.log('| measure | one call after another (baseline) | setup | goal |\n|---|---|---|---|');
  console.log(`| rounds of process calls on the critical path | ${calls} | ${rounds} | ≤ 5 |`);
  console.log(`| wall time ms | ${calls * LATENCY_MS + median(rows.map((r) => r.instant))} (calls × latency + toolkit time) | ${median(rows.map((r) => r.wall))} | |`);
  console.log(`| wall time ms with instant fakes | | ${median(rows.map((r) => r.instant))} | |`);
  console.log(`\nprocess calls per rerun: ${calls}`);
} finally {
  m.remove();
}
