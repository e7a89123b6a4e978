// Image builds as the tests and benchmark run them: BuildKit on the host network, labelled so that
// superseded builds can be pruned, from throwaway copies of the app folders where a test adds files.
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { DOCKER, run } from './run.ts';

/** Marks the harness's builds, so superseded ones can be pruned without touching others. */
const BUILD_LABEL = 'taskflow.test.build';

export type BuildOptions = {
  dockerfile: string;
  context: string;
  tag: string;
  /** The stage to build (--target). */
  target?: string;
  buildArgs?: Record<string, string>;
  /** Passed as --no-cache (note: this empties BuildKit cache mounts too). */
  noCache?: boolean;
  timeoutMs?: number;
};

/** Builds an image with BuildKit on the host network; returns the plain build log and duration. */
export async function buildImage(o: BuildOptions): Promise<{ log: string; seconds: number }> {
  const args = ['build', '--network', 'host', '--progress', 'plain', '--label', `${BUILD_LABEL}=1`, '-f', o.dockerfile, '-t', o.tag];
  for (const [k, v] of Object.entries(o.buildArgs ?? {})) args.push('--build-arg', `${k}=${v}`);
  if (o.target) args.push('--target', o.target);
  if (o.noCache) args.push('--no-cache');
  args.push(o.context);
  const started = Date.now();
  const r = await run(DOCKER, args, { timeoutMs: o.timeoutMs ?? 20 * 60_000 });
  const log = r.stdout + r.stderr;
  if (r.code !== 0) throw new Error(`docker build of ${o.tag} failed (exit ${r.code}):\n${log.split('\n').slice(-60).join('\n')}`);
  return { log, seconds: (Date.now() - started) / 1000 };
}

/** Removes this harness's images that a newer build of the same tag left untagged. */
export async function pruneSupersededBuilds(): Promise<void> {
  await run(DOCKER, ['image', 'prune', '-f', '--filter', `label=${BUILD_LABEL}=1`]);
}

/** Skipped when copying an app dir into a throwaway build context (local installs and build output). */
const COPY_SKIP = new Set(['node_modules', '.next', '.git', '__pycache__', '.venv', 'venv', '.pytest_cache', '.mypy_cache', '.ruff_cache']);

/** Copies an app directory to a temp dir (without local installs), for builds that add files to the context. */
export function copyContext(src: string): string {
  const dst = mkdtempSync(join(tmpdir(), `taskflow-ctx-${basename(src)}-`));
  cpSync(src, dst, { recursive: true, filter: (p) => !COPY_SKIP.has(basename(p)) || p === src });
  return dst;
}
