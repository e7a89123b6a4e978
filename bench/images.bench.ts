// Benchmark (not a test): each project image's own layer size, its cold and warm build times, and
// the backend image's request latency as a running container.
//
//   make bench ARGS=images    (or: npx tsx bench/images.bench.ts)
//
// Cold: --no-cache with the stand-in bases present (this also empties BuildKit's cache mounts, so
// dependencies are downloaded again, as on a fresh machine). Warm: one source file changed, every
// dependency layer cached. Own layers: the sum of `docker history` sizes above the base image.
// Container latency: the built backend image runs hardened on the host network (as the image tests
// run it) against a throwaway PostgreSQL, and gets the same load as bench/backend-latency.bench.ts.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../scripts/lib/core/net.ts';
import {
  BACKEND_DIR,
  type Container,
  DOCKER,
  FRONTEND_DIR,
  HARDENED,
  containerLogs,
  copyContext,
  docker,
  ownLayerBytes,
  prepareImageBuilds,
  pruneSupersededBuilds,
  removeContainers,
  runContainer,
  waitHealthy,
} from '../tests/lib/docker.ts';
import { startPostgres } from '../tests/lib/postgres.ts';
import { benchBackend } from './backend-latency.bench.ts';
import { runMain } from './main.ts';

const MB = 1_000_000;
const TARGET_MB = { backend: 60, frontend: 45 } as const;

/** The first source file (sorted, depth-first) with one of the extensions, under one of the dirs. */
function firstSource(root: string, dirs: string[], exts: string[]): string {
  const walk = (dir: string): string | undefined => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) {
        if (name === 'node_modules' || name.startsWith('.')) continue;
        const found = walk(path);
        if (found) return found;
      } else if (exts.some((e) => name.endsWith(e))) return path;
    }
    return undefined;
  };
  for (const d of dirs) {
    const found = walk(join(root, d));
    if (found) return found;
  }
  throw new Error(`no ${exts.join('/')} file under ${dirs.join(', ')} in ${root}`);
}

type Row = { image: string; ownMB: number; targetMB: number; coldS: number; warmS: number };

const BACKEND_TAG = 'taskflow-test/backend:bench';
// The healthcheck's command is the image's; only how often it runs is shortened, to start sooner.
const FAST_HEALTH = ['--health-interval', '2s', '--health-start-period', '60s'];

// Containers still running when the bench is interrupted (PostgreSQL stops in its own exit hook).
const live = new Set<Container>();
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    if (live.size) spawnSync(DOCKER, ['rm', '-f', '-v', ...[...live].map((c) => c.name)], { stdio: 'ignore' });
    process.exit(signal === 'SIGINT' ? 130 : 143);
  });
}

async function startHardened(env: Record<string, string>, cmd: string[], role: string): Promise<Container> {
  const c = await runContainer({
    image: BACKEND_TAG,
    name: `taskflow-bench-${role}-${randomBytes(3).toString('hex')}`,
    env,
    cmd,
    extraArgs: [...HARDENED, ...(cmd.length ? [] : FAST_HEALTH)],
  });
  live.add(c);
  return c;
}

/** Runs the backend image against a throwaway PostgreSQL and loads it; returns the Markdown table. */
async function benchBackendContainer(): Promise<string> {
  const pg = await startPostgres();
  const containers: Container[] = [];
  try {
    const port = await freePort();
    // bcrypt keeps its default cost (as in production and in the process bench), so the numbers compare.
    const env = { DATABASE_URL: pg.url, BETTER_AUTH_SECRET: randomBytes(32).toString('hex'), PORT: String(port), LOG_LEVEL: 'WARNING' };
    if (existsSync(join(BACKEND_DIR, 'app', 'migrate.py'))) {
      // The schema comes from the migration command, as the chart's Job runs it.
      const migrate = await startHardened(env, ['python', '-m', 'app.migrate'], 'migrate');
      containers.push(migrate);
      const code = await docker(['wait', migrate.name], { timeoutMs: 180_000 });
      if (code !== '0') throw new Error(`migration exited ${code}:\n${await containerLogs(migrate)}`);
    }
    const backend = await startHardened(env, [], 'backend');
    containers.push(backend);
    const startedAt = Date.now();
    await waitHealthy(backend, 120_000);
    console.log(`backend container healthy in ${((Date.now() - startedAt) / 1000).toFixed(1)} s at http://127.0.0.1:${port}, PostgreSQL 127.0.0.1:${pg.port}`);
    // benchBackend logs progress and then its table; the table is printed later under its own heading.
    const { table } = await benchBackend(`http://127.0.0.1:${port}`, { log: (line) => (line.includes('\n|') ? undefined : console.log(line)) });
    return table;
  } finally {
    await removeContainers(...containers).catch(() => undefined);
    for (const c of containers) live.delete(c);
    await pg.stop();
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  const builder = await prepareImageBuilds((s) => console.log(`  ${s}`));
  const contexts: string[] = [];
  const rows: Row[] = [];
  try {
    const backendCtx = copyContext(BACKEND_DIR);
    contexts.push(backendCtx);
    const frontendCtx = copyContext(FRONTEND_DIR);
    contexts.push(frontendCtx);
    const cases = [
      { name: 'backend' as const, ctx: backendCtx, base: builder.bases.python, build: builder.buildBackend, dirs: ['app', 'src', '.'], exts: ['.py'], comment: '#' },
      { name: 'frontend' as const, ctx: frontendCtx, base: builder.bases.node, build: builder.buildFrontend, dirs: ['components', 'app', 'src', 'lib'], exts: ['.tsx', '.ts'], comment: '//' },
    ];
    for (const c of cases) {
      const tag = `taskflow-test/${c.name}:bench`;
      console.log(`${c.name}: cold build`);
      const cold = await c.build({ context: c.ctx, tag, noCache: true });
      const own = await ownLayerBytes(tag, c.base);
      const file = firstSource(c.ctx, c.dirs, c.exts);
      appendFileSync(file, `\n${c.comment} benchmark edit ${Date.now()}\n`);
      console.log(`${c.name}: warm build (changed ${file.slice(c.ctx.length + 1)})`);
      const warm = await c.build({ context: c.ctx, tag });
      rows.push({ image: c.name, ownMB: own / MB, targetMB: TARGET_MB[c.name], coldS: cold.seconds, warmS: warm.seconds });
    }
  } finally {
    await builder.close();
    for (const c of contexts) rmSync(c, { recursive: true, force: true });
    await pruneSupersededBuilds();
  }

  console.log('\nimage      own layers   target    cold build   warm build (one source file changed)');
  for (const r of rows) {
    const mark = r.ownMB <= r.targetMB ? 'ok' : 'OVER';
    console.log(
      `${r.image.padEnd(10)} ${`${r.ownMB.toFixed(1)} MB`.padStart(10)}   ≤${r.targetMB} MB ${mark.padEnd(4)} ${`${r.coldS.toFixed(1)} s`.padStart(9)}   ${`${r.warmS.toFixed(1)} s`.padStart(9)}`,
    );
  }

  // After the builds and with the pip index stopped, so nothing else competes for the CPU; the table
  // above is printed first so a failing container run doesn't lose it.
  console.log('\nbackend container: latency under load');
  const latency = await benchBackendContainer();
  console.log(`\n### backend latency as a container (${BACKEND_TAG}, hardened, --network host, 1 uvicorn worker)\n\n${latency}`);
  console.log(`\n(total ${((Date.now() - started) / 1000).toFixed(0)} s)`);
}

runMain(main);
