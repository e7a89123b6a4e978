// The project's images (docker/*.Dockerfile) as the tests and benchmark build them: on the stand-in
// bases, with this machine's package mirrors as build args.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureBaseImages } from './bases.ts';
import { buildImage } from './build.ts';
import { ensureEngine } from './engine.ts';
import { npmRegistry, servePipIndex } from './mirrors.ts';

export const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));

export const BACKEND_DOCKERFILE = join(repoRoot, 'docker', 'backend.Dockerfile');
export const FRONTEND_DOCKERFILE = join(repoRoot, 'docker', 'frontend.Dockerfile');
export const MCP_DOCKERFILE = join(repoRoot, 'docker', 'mcp.Dockerfile');
export const BACKEND_DIR = join(repoRoot, 'app', 'backend');
export const FRONTEND_DIR = join(repoRoot, 'app', 'frontend');
export const MCP_DIR = join(repoRoot, 'app', 'mcp');

type Build = (o: { context: string; tag: string; noCache?: boolean }) => Promise<{ log: string; seconds: number }>;

export type ImageBuilder = {
  bases: { python: string; node: string };
  /** Build args (mirrors) the harness passes; the tests check the images never record them. */
  pipArgs: Record<string, string>;
  npmArgs: Record<string, string>;
  buildBackend: Build;
  buildFrontend: Build;
  buildMcp: Build;
  /** Stops the loopback pip index. */
  close(): Promise<void>;
};

/** Engine, stand-in bases and package mirrors: everything needed before the project's builds. */
export async function prepareImageBuilds(log: (s: string) => void = () => {}): Promise<ImageBuilder> {
  await ensureEngine();
  const bases = await ensureBaseImages(log);
  const pip = await servePipIndex();
  const npmArgs = { NPM_CONFIG_REGISTRY: npmRegistry() };
  const python = { BASE_IMAGE: bases.python, ...pip.buildArgs };
  return {
    bases,
    pipArgs: pip.buildArgs,
    npmArgs,
    buildBackend: (o) => buildImage({ dockerfile: BACKEND_DOCKERFILE, context: o.context, tag: o.tag, noCache: o.noCache, buildArgs: python }),
    buildFrontend: (o) => buildImage({ dockerfile: FRONTEND_DOCKERFILE, context: o.context, tag: o.tag, noCache: o.noCache, buildArgs: { BASE_IMAGE: bases.node, ...npmArgs } }),
    buildMcp: (o) => buildImage({ dockerfile: MCP_DOCKERFILE, context: o.context, tag: o.tag, noCache: o.noCache, buildArgs: python }),
    close: () => pip.stop(),
  };
}
