// What `validate --static` costs beside what a user would run by hand for the same checks: helm lint
// and helm template of dev and of prod, four helm processes, each given the values validate gives
// helm (the profile file, then the declaration layer it generates, here written to a file as a user
// would). validate runs as `make validate` starts it: `node scripts/run.mjs validate --static`.
// CPU is user + sys of the whole process tree (validate and the helm under it), read from
// /proc/self/stat once each child is reaped: the children's time is what the machine pays for.
// The two sides alternate, in turns of changing order, and each figure is the median of the runs.
//
// BENCH_RUNS sets the number of runs (default 9). BENCH_COMPARE names another checkout of the
// project (its own node_modules in place) whose validate joins the turns, e.g. the commit before a
// change, so before and after are measured in the same run.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig, type Profile } from '../scripts/lib/app/config.ts';
import { chartDir, profileFileIn } from '../scripts/lib/app/values.ts';
import { chartReaderEnv } from '../scripts/lib/tools/helm.ts';
import { declarationValues } from '../scripts/lib/validate/run.ts';
import { defaultHelm } from '../tests/lib/tool-versions.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const RUNS = Number(process.env.BENCH_RUNS) || 9;

type Sample = { wall: number; cpu: number };
type Command = { cmd: string; args: string[]; cwd: string; env?: Record<string, string> };
type Job = { name: string; commands: Command[] };

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
  for (const { cmd, args, cwd, env } of job.commands) {
    const r = spawnSync(cmd, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, TASKFLOW_HELM: helm, ...env } });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}\n${r.stderr}`);
  }
  return { wall: Number(process.hrtime.bigint() - t0) / 1e6, cpu: childrenCpuMs() - cpu0 };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const load = () => loadavg().map((l) => l.toFixed(1)).join(' / ');

if (!existsSync('/proc/self/stat')) {
  console.log('CPU time is read from /proc; run this bench on Linux.');
  process.exit(0);
}
// The test helm, for both sides: validate gets it through TASKFLOW_HELM.
const helm = await defaultHelm();
const chart = chartDir(root);
const config = loadConfig({ root, flags: {} });
const { TASKFLOW_RELEASE: release, TASKFLOW_NAMESPACE: namespace } = config.settings;
const tmp = mkdtempSync(join(tmpdir(), 'taskflow-bench-'));

/** helm lint and helm template of one profile, as validate runs them but with the generated layer in a file. */
function byHand(profile: Profile): Command[] {
  const layer = join(tmp, `declaration-${profile}.yaml`);
  writeFileSync(layer, declarationValues(config, chart, profile));
  const values = ['-f', profileFileIn(chart, profile), '-f', layer];
  return [
    { cmd: helm, args: ['lint', chart, ...values], cwd: root },
    { cmd: helm, args: ['template', release, chart, '--namespace', namespace, ...values], cwd: root },
  ];
}
const validateIn = (dir: string): Command => ({ cmd: process.execPath, args: [join(dir, 'scripts', 'run.mjs'), 'validate', '--static'], cwd: dir });

const baseline: Job = { name: 'by hand: helm lint + helm template, dev and prod', commands: [...byHand('dev'), ...byHand('prod')] };
const validate: Job = { name: 'node scripts/run.mjs validate --static', commands: [validateIn(root)] };
// validate runs its helm with Go's collector off (chartReaderEnv); the same four commands run that
// way show how much of the gap is helm's own cost and how much is validate's.
const tuned: Job = { name: 'by hand, with the GOGC=off validate gives its helm', commands: baseline.commands.map((c) => ({ ...c, env: chartReaderEnv() })) };
const jobs = [baseline, validate, tuned];
const compareDir = process.env.BENCH_COMPARE ? resolve(process.env.BENCH_COMPARE) : undefined;
if (compareDir) jobs.push({ name: `validate --static of ${compareDir}`, commands: [validateIn(compareDir)] });

const loadBefore = load();
try {
  // One unmeasured run each fills the disk cache and builds the bundles, as on any second run.
  for (const job of jobs) runOnce(job);
  const samples = new Map<Job, Sample[]>(jobs.map((j) => [j, []]));
  // Interleaved, so a busy moment on the machine weighs on every side alike; the order turns each
  // round, so none always runs right after another.
  for (let i = 0; i < RUNS; i++) {
    const order = jobs.map((_, k) => jobs[(i + k) % jobs.length]!);
    for (const job of order) samples.get(job)!.push(runOnce(job));
  }

  const cpu = (job: Job) => median(samples.get(job)!.map((s) => s.cpu));
  const wall = (job: Job) => median(samples.get(job)!.map((s) => s.wall));
  console.log(`${RUNS} runs each, medians; ${cpus().length} cores, load average (1 / 5 / 15 min) ${loadBefore} before, ${load()} after.\n`);
  console.log('| command | CPU ms | × baseline CPU | wall ms | × baseline wall |\n|---|---|---|---|---|');
  for (const job of jobs) {
    console.log(`| ${job.name} | ${cpu(job).toFixed(0)} | ${(cpu(job) / cpu(baseline)).toFixed(2)} | ${wall(job).toFixed(0)} | ${(wall(job) / wall(baseline)).toFixed(2)} |`);
  }
  // The ratio within each round too: it shows how far the machine's load moved the figures above.
  for (const job of jobs.slice(1)) {
    const ratios = samples.get(job)!.map((s, i) => s.cpu / samples.get(baseline)![i]!.cpu);
    console.log(`\n${job.name}: CPU × baseline round by round, median ${median(ratios).toFixed(2)}, range ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}.`);
  }
  console.log(`\nGoal: validate --static at most 2× the baseline's CPU. CPU is counted in ${1000 / ticksPerSecond} ms ticks.`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
