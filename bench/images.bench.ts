// Benchmark (not a test): each project image's own layer size and its cold and warm build times.
//
//   make bench ARGS=images    (or: npx tsx bench/images.bench.ts)
//
// Cold: --no-cache with the stand-in bases present (this also empties BuildKit's cache mounts, so
// dependencies are downloaded again, as on a fresh machine). Warm: one source file changed, every
// dependency layer cached. Own layers: the sum of `docker history` sizes above the base image.
import { appendFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BACKEND_DIR, FRONTEND_DIR, copyContext, ownLayerBytes, prepareImageBuilds, pruneSupersededBuilds } from '../tests/lib/docker.ts';

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
  console.log(`\n(total ${((Date.now() - started) / 1000).toFixed(0)} s)`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
