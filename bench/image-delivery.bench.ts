// Benchmark (not a test): what one image delivery costs on each minikube route, measured beside
// each other in the same run against the fake CLIs: the docker runtime, where setup builds in the
// node's Docker daemon (minikube docker-env), and containerd, where it builds on the host and runs
// `minikube image load`.
//
//   make bench ARGS=image-delivery    (or: npx tsx bench/image-delivery.bench.ts)
//
// Bytes moved to the node:
//   docker-env: the build context the docker CLI sends to the node's daemon: the bytes of the
//     files left after .dockerignore, counted here with the toolkit's own rules (tar headers not
//     counted). Base layers the node pulls once are left out on both sides.
//   image load: the whole image, as `minikube image load` saves and copies it on every change. The
//     fakes have no layers: the size is the one the fake docker records for the image. When the
//     real images of tests/images are in this machine's Docker (taskflow-test/<component>:test,
//     built on local stand-in bases), their real `docker image inspect` sizes are what the fake
//     records; otherwise the fake records the bytes of the build context, and the table says so.
// Seconds: the images step's own duration from `setup --json`, with every fake call taking
// FAKE_CLI_LATENCY_MS: that is process calls and rounds, not transfer time, which the fakes do not
// model.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileDockerignore, contextFiles } from '../scripts/lib/images/ignore.ts';
import { FakeMachine, type Call, type FakeState } from '../tests/lib/fake-machine.ts';

const LATENCY_MS = 300;
const RUNS = 3;
const COMPONENTS = ['backend', 'frontend', 'mcp'] as const;
const MB = 1_000_000;

type Row = { route: string; delivery: string; calls: number; seconds: number[]; bytes: number };

/** The real sizes of the images tests/images builds, when this machine's Docker has them. */
function realImageSizes(): Record<string, number> | undefined {
  const sizes: Record<string, number> = {};
  for (const c of COMPONENTS) {
    const r = spawnSync('docker', ['image', 'inspect', '--format', '{{.Size}}', `taskflow-test/${c}:test`], { encoding: 'utf8' });
    const n = Number(r.stdout.trim());
    if (r.status !== 0 || !Number.isFinite(n) || n <= 0) return undefined;
    sizes[`taskflow-${c}`] = n;
  }
  return sizes;
}

/** What the docker CLI sends as the build context: the files left after the Dockerfile's .dockerignore. */
function contextBytes(m: FakeMachine, component: string): number {
  const declaration = readFileSync(m.appFile, 'utf8');
  const dockerfile = new RegExp(`${component}:[\\s\\S]*?dockerfile: (\\S+)`).exec(declaration)?.[1] ?? '';
  const dir = m.contexts[component] as string;
  const ignore = existsSync(`${dockerfile}.dockerignore`) ? readFileSync(`${dockerfile}.dockerignore`, 'utf8') : existsSync(join(dir, '.dockerignore')) ? readFileSync(join(dir, '.dockerignore'), 'utf8') : '';
  return contextFiles(dir, compileDockerignore(ignore)).reduce((n, f) => n + readFileSync(join(dir, f)).length, 0);
}

const imageCalls = (calls: Call[]) =>
  calls.filter((c) => (c.tool === 'docker' && (c.args[0] === 'build' || c.args[0] === 'image')) || (c.tool === 'minikube' && c.args[0] === 'image'));

async function setupJson(m: FakeMachine): Promise<number> {
  const r = await m.run('setup.ts', ['--json'], { FAKE_CLI_LATENCY_MS: String(LATENCY_MS) });
  if (r.code !== 0) throw new Error(r.output);
  const doc = JSON.parse(r.stdout.slice(r.stdout.indexOf('{'))) as { steps: { title: string; ms: number }[] };
  return (doc.steps.find((s) => s.title === 'images')?.ms ?? NaN) / 1000;
}

/** One route: a fresh delivery of every image, then RUNS deliveries of one changed component. */
async function measure(route: string, state: (s: FakeState) => void, sizes: Record<string, number> | undefined): Promise<Row[]> {
  const m = await FakeMachine.create({ state: (s) => (state(s), sizes && (s.docker.repoBytes = sizes)) });
  try {
    const moved = (calls: Call[]): number => {
      const s = m.state();
      let bytes = 0;
      for (const c of calls) {
        if (c.tool === 'docker' && c.args[0] === 'build' && c.dockerHost) bytes += contextBytes(m, /--tag taskflow-(\w+):/.exec(c.args.join(' '))?.[1] ?? '');
        if (c.tool === 'minikube' && c.args[0] === 'image' && c.args[1] === 'load') bytes += s.docker.imageBytes?.[c.args[2] ?? ''] ?? 0;
      }
      return bytes;
    };
    const fresh: Row = { route, delivery: `fresh: ${COMPONENTS.length} images`, calls: 0, seconds: [], bytes: 0 };
    fresh.seconds.push(await setupJson(m));
    fresh.calls = imageCalls(m.calls()).length;
    fresh.bytes = moved(m.calls());
    const changed: Row = { route, delivery: 'one component changed (backend)', calls: 0, seconds: [], bytes: 0 };
    for (let i = 0; i < RUNS; i++) {
      const file = join(m.backendDir, 'app', 'main.py');
      writeFileSync(file, `${readFileSync(file, 'utf8')}\n# bench edit ${i}\n`);
      m.clearCalls();
      changed.seconds.push(await setupJson(m));
      changed.calls = imageCalls(m.calls()).length;
      changed.bytes = moved(m.calls());
    }
    return [fresh, changed];
  } finally {
    m.remove();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

const sizes = realImageSizes();
const stopped = (runtime?: 'containerd') => (s: FakeState) => {
  s.minikube.profiles.taskflow = { host: 'Stopped', ...(runtime ? { runtime } : {}), cpus: 2, memory: '4096mb', addons: {}, images: [] };
  s.kube.contexts.taskflow = 'minikube:taskflow';
};
// Both start from a stopped profile, so the fresh rows compare the same work.
const rows = [...(await measure('docker-env (docker runtime)', stopped(), sizes)), ...(await measure('image load (containerd)', stopped('containerd'), sizes))];

console.log(`Image delivery on minikube, each fake call taking ${LATENCY_MS} ms (changed-component rows: median of ${RUNS}):\n`);
console.log('| route | delivery | image calls | images step s | bytes moved to the node |\n|---|---|---|---|---|');
for (const r of rows) console.log(`| ${r.route} | ${r.delivery} | ${r.calls} | ${median(r.seconds).toFixed(2)} | ${(r.bytes / MB).toFixed(2)} MB |`);
console.log(
  `\nBytes: docker-env sends the build context (files after .dockerignore); image load copies the whole image, ${
    sizes
      ? `here the real size of taskflow-test/<component>:test from this machine's Docker (${COMPONENTS.map((c) => `${c} ${((sizes[`taskflow-${c}`] ?? 0) / MB).toFixed(0)} MB`).join(', ')}), which the fake records for each build`
      : 'here the size the fake records: the bytes of the build context, since no real image was found (run the image tests once for real sizes)'
  }. Seconds are the images step with fake CLIs: process calls and rounds, not transfer time.`,
);
