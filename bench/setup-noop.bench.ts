// A no-op `setup` rerun against the fake CLIs: how many processes it starts and its wall time,
// next to the first run on a fresh fake machine. (The fakes answer in a few ms, so the time is
// mostly the toolkit's own: node start, config, content hashing, helm rendering by the fake.)
import { FakeMachine } from '../tests/lib/fake-machine.ts';

const RUNS = 5;
const m = await FakeMachine.create();
try {
  let t = Date.now();
  const first = await m.run('setup.ts');
  if (first.code !== 0) throw new Error(first.output);
  const firstMs = Date.now() - t;
  const firstCalls = m.calls().length;
  const times: number[] = [];
  let calls = 0;
  for (let i = 0; i < RUNS; i++) {
    m.clearCalls();
    t = Date.now();
    const r = await m.run('setup.ts');
    if (r.code !== 0) throw new Error(r.output);
    times.push(Date.now() - t);
    calls = m.calls().length;
  }
  times.sort((a, b) => a - b);
  console.log('| run | process calls | wall time ms |\n|---|---|---|');
  console.log(`| first setup (fresh machine) | ${firstCalls} | ${firstMs} |`);
  console.log(`| no-op rerun (median of ${RUNS}) | ${calls} | ${times[Math.floor(RUNS / 2)]} (min ${times[0]}, max ${times.at(-1)}) |`);
} finally {
  m.remove();
}
