// What `validate --static` costs beside its floor, two bare `helm template` renders (dev + prod):
// wall and CPU time, median of 5 each, taken in one run with the two interleaved, and the ratio.
// CPU is user + sys of the child processes and theirs (helm under validate), read from
// /proc/self/stat once each child is reaped: the children's time is what the machine pays for.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultHelm } from '../tests/lib/tool-versions.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const RUNS = 5;

type Sample = { wall: number; cpu: number };
type Job = { name: string; commands: [string, string[]][] };

const ticksPerSecond = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** User + sys time of every reaped child so far, in ms (fields 16 and 17 of /proc/self/stat). */
function childrenCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  // The command name (field 2) may hold spaces; the fields after its closing parenthesis start at field 3.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[13]) + Number(fields[14])) * 1000) / ticksPerSecond;
}

function runOnce(job: Job): Sample {
  const cpu0 = childrenCpuMs();
  const t0 = process.hrtime.bigint();
  for (const [cmd, args] of job.commands) {
    const r = spawnSync(cmd, args, { cwd: root, stdio: 'ignore', env: { ...process.env, TASKFLOW_HELM: helm } });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}`);
  }
  return { wall: Number(process.hrtime.bigint() - t0) / 1e6, cpu: childrenCpuMs() - cpu0 };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

if (!existsSync('/proc/self/stat')) {
  console.log('CPU time is read from /proc; run this bench on Linux.');
  process.exit(0);
}
// The test helm, for both sides: validate gets it through TASKFLOW_HELM.
const helm = await defaultHelm();
const chart = join(root, 'helm', 'taskflow');
const render = (profile: string): [string, string[]] => [helm, ['template', 'taskflow', chart, '-f', join(chart, `values-${profile}.yaml`)]];
const baseline: Job = { name: 'helm template dev + prod (baseline)', commands: [render('dev'), render('prod')] };
// What `make validate` / `npm run validate` run: the command's bundle (scripts/run.mjs), and beside
// it the same sources through tsx's loader, so the cost of starting through tsx shows.
const validate: Job = { name: 'validate --static from its bundle (3 lints, dev + prod)', commands: [[process.execPath, [join(root, 'scripts', 'run.mjs'), 'validate', '--static']]] };
const throughTsx: Job = { name: 'validate --static through tsx', commands: [[process.execPath, ['--import', 'tsx', join(root, 'scripts', 'validate.ts'), '--static']]] };

// One unmeasured run each fills the disk cache, tsx's transform cache and the bundles, as on any second run.
runOnce(baseline);
runOnce(validate);
runOnce(throughTsx);
const samples = new Map<Job, Sample[]>([[baseline, []], [validate, []], [throughTsx, []]]);
// Interleaved, so a busy moment on the machine weighs on both sides alike.
for (let i = 0; i < RUNS; i++) for (const [job, list] of samples) list.push(runOnce(job));

const wall = (job: Job) => median(samples.get(job)!.map((s) => s.wall));
const cpu = (job: Job) => median(samples.get(job)!.map((s) => s.cpu));
console.log(`| command | wall ms (median of ${RUNS}) | CPU ms (median of ${RUNS}) |\n|---|---|---|`);
for (const job of samples.keys()) console.log(`| ${job.name} | ${wall(job).toFixed(0)} | ${cpu(job).toFixed(0)} |`);
for (const job of [validate, throughTsx]) console.log(`| ratio ${job.name.split(' (')[0]} / baseline | ${(wall(job) / wall(baseline)).toFixed(1)}× | ${(cpu(job) / cpu(baseline)).toFixed(1)}× |`);
console.log(`\nGoal: validate --static at most 2× the baseline's CPU. Each helm process here costs about ${(cpu(baseline) / 2).toFixed(0)} ms of CPU, and validate runs six (version, three lints, two renders).`);
