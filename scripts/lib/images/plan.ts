// Where each image already is, and what to do about it (Skaffold-style: found / build / deliver).
import type { ImageRoute } from '../cluster/drivers.ts';
import type { Session } from '../core/session.ts';
import type { Docker } from '../tools/docker.ts';
import { ImageSource, contentTag, imageRepository, imageSources } from './tag.ts';

/**
 * Where an image already is, observed before deciding. `atTarget`: where the cluster gets images
 * from holds it (the cluster's own runtime, or the registry when one is configured).
 */
export type ImageState = { atTarget: boolean; inLocalDocker: boolean };

/** What to do for one image, Skaffold-style; "deliver" is a load into the cluster or a push to the registry. */
export type ImageVerdict =
  | { action: 'none'; reason: 'found' }
  | { action: 'deliver'; reason: 'built already, not delivered' }
  | { action: 'build'; reason: 'not found'; deliver: boolean }
  | { action: 'skip-build'; reason: '--skip-build, image missing' };

/**
 * Pure decision for one image. `clusterSharesDocker` is true where the cluster runs on the
 * local Docker engine's image store (Docker Desktop), so a build is all it takes.
 */
export function decideImage(state: ImageState, opts: { skipBuild: boolean; clusterSharesDocker: boolean }): ImageVerdict {
  if (state.atTarget) return { action: 'none', reason: 'found' };
  if (state.inLocalDocker && !opts.clusterSharesDocker) return { action: 'deliver', reason: 'built already, not delivered' };
  if (state.inLocalDocker) return { action: 'none', reason: 'found' };
  if (opts.skipBuild) return { action: 'skip-build', reason: '--skip-build, image missing' };
  return { action: 'build', reason: 'not found', deliver: !opts.clusterSharesDocker };
}

/** One component's image: where it comes from, its reference, and what to do about it. */
export type ImagePlan = { src: ImageSource; repository: string; tag: string; ref: string; verdict: ImageVerdict };

/** Where images are built, where they are looked up, and whether a build still needs a delivery. */
export type Target = {
  registry?: string;
  where: string;
  has: (ref: string) => Promise<boolean>;
  /** The Docker that builds: the host's, or the cluster's own daemon (minikube docker-env). */
  builder: Docker;
  /** The builder's store is the one the cluster reads: a build is all it takes. */
  sharesDocker: boolean;
  /** A host build not yet delivered is looked for here (absent where the builder is the cluster). */
  local?: Docker;
  route: ImageRoute;
};

/**
 * Where the cluster gets images from: the registry when one is configured; else the cluster's own
 * Docker daemon when the route says so (one `docker image ls` there answers every lookup, as one
 * `minikube image ls` did); else its runtime, fed from the host's Docker.
 */
export function target(sn: Session, clusterRunning: boolean, route: ImageRoute): Target {
  const { docker } = sn.tools;
  const registry = sn.config.settings.TASKFLOW_IMAGE_REGISTRY;
  if (registry) return { registry, where: 'the registry', has: (ref) => docker.inRegistry(ref), builder: docker, sharesDocker: false, local: docker, route };
  if (route.via === 'daemon') {
    const daemon = docker.withEnv(route.env);
    let listed: Promise<Set<string>> | undefined;
    return {
      where: 'the cluster',
      has: async (ref) => (await (listed ??= daemon.images())).has(ref),
      builder: daemon,
      sharesDocker: true,
      route,
    };
  }
  return {
    where: 'the cluster',
    has: (ref) => (clusterRunning ? sn.cluster.hasImage(ref) : Promise.resolve(false)),
    builder: docker,
    sharesDocker: sn.cluster.sharesDockerImages,
    local: docker,
    route,
  };
}

/**
 * Reads where each component's image already is and decides, without changing anything. `only`
 * limits it to those components (dev, after an edit to one of them).
 */
export async function observeImages(sn: Session, opts: { skipBuild: boolean; clusterRunning: boolean; route: Promise<ImageRoute> | ImageRoute; only?: string[] }): Promise<ImagePlan[]> {
  const at = target(sn, opts.clusterRunning, await opts.route);
  return Promise.all(
    imageSources(sn.config)
      .filter((src) => !opts.only || opts.only.includes(src.component))
      .map(async (src) => {
        const tag = contentTag(src);
        const repository = imageRepository(sn.config, src.component);
        const ref = `${repository}:${tag}`;
        const found = await at.has(ref);
        const inLocalDocker = found || !at.local ? false : await at.local.hasImage(ref);
        return { src, repository, tag, ref, verdict: decideImage({ atTarget: found, inLocalDocker }, { skipBuild: opts.skipBuild, clusterSharesDocker: at.sharesDocker }) };
      }),
  );
}

/** How an image reaches the cluster on this route: `load`ed into its runtime, `push`ed to the registry, or nothing (built where the cluster reads it). */
export function deliveryVerb(sn: Session, route: ImageRoute): 'load' | 'push' | undefined {
  const at = target(sn, true, route);
  return at.registry ? 'push' : at.sharesDocker ? undefined : 'load';
}

/** Where the route builds, for messages: " in minikube's Docker daemon", or nothing for the host's Docker. */
export function builtIn(at: Target): string {
  return !at.registry && at.route.via === 'daemon' ? ` in ${at.route.where}` : '';
}
