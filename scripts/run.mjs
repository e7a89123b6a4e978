#!/usr/bin/env node
// `npm run <command>` and make's targets start here. Each command runs from one JavaScript file
// bundled from its TypeScript sources, so it starts in plain node: tsx's loader costs about half a
// second of CPU on every start (it compiles in a second thread), more than validate --static's own
// checks. The sources stay the truth: when any file under scripts/ or the lock file is newer than
// the bundles, they are rebuilt first (about a quarter of a second), so an edited script runs as
// edited. `npx tsx scripts/<command>.ts` runs the sources directly and does the same.
//
// Safe to stop at any point: the bundles are built into a directory of their own and moved into
// place one file at a time (a rename replaces a file whole), so a build cut short by Ctrl+C leaves
// the previous bundles, and two commands starting at once both run a whole bundle.
import { mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const COMMANDS = ['setup', 'dev', 'port-forward', 'logs', 'scale', 'status', 'rollback', 'validate', 'render', 'cleanup'];
const root = fileURLToPath(new URL('..', import.meta.url));
// Two levels below the project root, where scripts/lib/ is: scripts/lib/paths.ts finds the root
// from its own location, and in a bundle that location is the bundle's.
const outDir = join(root, '.cache', 'commands');

/** The newest modification time of the sources a bundle is made of. */
function newestSource() {
  let newest = statSync(join(root, 'package-lock.json')).mtimeMs;
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(dir, e.name));
      else if (e.name.endsWith('.ts')) newest = Math.max(newest, statSync(join(dir, e.name)).mtimeMs);
    }
  };
  walk(join(root, 'scripts'));
  return newest;
}

function builtAt(file) {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return -1;
  }
}

/** Bundles every command (node_modules stays outside) into .cache/commands/. */
async function build() {
  const { build: esbuild } = await import('esbuild');
  const tmp = join(root, '.cache', `commands.${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  try {
    await esbuild({
      entryPoints: COMMANDS.map((c) => join(root, 'scripts', `${c}.ts`)),
      outdir: tmp,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      logLevel: 'silent',
    });
    mkdirSync(outDir, { recursive: true });
    for (const f of readdirSync(tmp)) renameSync(join(tmp, f), join(outDir, f));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

const [command, ...args] = process.argv.slice(2);
if (!COMMANDS.includes(command ?? '')) {
  console.error(`✖ ${command ? `unknown command: ${command}` : 'no command given'}\n  → One of: ${COMMANDS.join(', ')}, e.g. node scripts/run.mjs validate --static`);
  process.exit(2);
}
const bundle = join(outDir, `${command}.js`);
if (builtAt(bundle) < newestSource()) {
  try {
    await build();
  } catch (err) {
    // esbuild's own report names the file, line and problem; no stack trace of ours.
    const lines = (err?.errors ?? []).map((e) => `  ${e.location ? `${e.location.file}:${e.location.line}: ` : ''}${e.text}`);
    console.error(`✖ could not build the ${command} command from scripts/:\n${lines.length ? lines.join('\n') : `  ${err?.message ?? err}`}`);
    console.error(`  → Fix the script above, or run the sources through tsx: npx tsx scripts/${command}.ts`);
    process.exit(1);
  }
}
// The command sees itself as the running script: the background port-forward starts its own file.
process.argv = [process.argv[0], bundle, ...args];
await import(pathToFileURL(bundle).href);
