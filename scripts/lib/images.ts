// Content-addressed image tags and the build/load plan. The tag is a hash of the build context
// (after .dockerignore), the Dockerfile and the build args: same source → same tag → nothing to
// do; changed source → new tag → the Deployment rolls.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { baseImageArg, dockerfileArgs, isPublicUrl } from './app.ts';
import { publicUrl } from './components.ts';
import type { Config, SettingKey } from './config.ts';
import { InputError, UserError } from './errors.ts';
import type { ImageRoute } from './cluster.ts';
import type { Session } from './session.ts';
import type { Docker } from './tools/docker.ts';
import type { StepOutcome } from './ui.ts';

/** One .dockerignore rule, compiled. */
export type Rule = { negate: boolean; re: RegExp };

/**
 * Compiles .dockerignore patterns the way Docker reads them: Go filepath.Match globs relative to
 * the context root, `**` for any number of directories, `!` re-including, the last match winning.
 * A pattern matching a directory excludes everything below it.
 */
export function compileDockerignore(text: string): Rule[] {
  const rules: Rule[] = [];
  for (let line of text.split(/\r?\n/)) {
    line = line.trim();
    if (!line || line.startsWith('#')) continue;
    const negate = line.startsWith('!');
    let pat = (negate ? line.slice(1) : line).trim().replace(/^\/+/, '').replace(/\/+$/, '');
    pat = pat.split('/').filter((s) => s !== '.').join('/');
    if (!pat) continue;
    let re = '';
    for (let i = 0; i < pat.length; i++) {
      const c = pat[i] as string;
      if (c === '*' && pat[i + 1] === '*') {
        // "**/" matches zero or more directories; a trailing "**" matches everything.
        if (pat[i + 2] === '/') {
          re += '(?:.*/)?';
          i += 2;
        } else {
          re += '.*';
          i += 1;
        }
      } else if (c === '*') re += '[^/]*';
      else if (c === '?') re += '[^/]';
      else if (c === '[') {
        const end = pat.indexOf(']', i);
        if (end < 0) re += '\\[';
        else {
          re += `[${pat.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\')}]`;
          i = end;
        }
      } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
    }
    rules.push({ negate, re: new RegExp(`^${re}(?:/.*)?$`) });
  }
  return rules;
}

export function isIgnored(rules: Rule[], path: string): boolean {
  let ignored = false;
  for (const r of rules) if (r.re.test(path)) ignored = !r.negate;
  return ignored;
}

/** The files Docker would send as the build context, as sorted forward-slash relative paths. */
export function contextFiles(contextDir: string, rules: Rule[]): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const abs = join(dir, name);
      const rel = relative(contextDir, abs).split(sep).join('/');
      const st = statSync(abs);
      if (st.isDirectory()) {
        // An ignored directory may still hold re-included files ("!dir/keep"), so only prune
        // when no negation rule could match below it.
        if (isIgnored(rules, rel) && !rules.some((r) => r.negate)) continue;
        walk(abs);
      } else if (!isIgnored(rules, rel)) out.push(rel);
    }
  };
  walk(contextDir);
  return out;
}

export type ImageSource = {
  /** The declared component's name. */
  component: string;
  contextDir: string;
  dockerfile: string;
  /** The Dockerfile stage to build (--target); the last one when absent. */
  target?: string;
  buildArgs: Record<string, string>;
};

/**
 * sha256 over the Dockerfile, the build args and every context file (path, executable bit,
 * content); 12 hex characters are the tag. Mirror URLs (PIP_INDEX_URL, NPM_CONFIG_REGISTRY) change
 * where packages come from, not what is built, so they are left out: a user switching mirrors
 * does not rebuild.
 */
export function contentTag(src: ImageSource): string {
  const h = createHash('sha256');
  h.update(`dockerfile\0${readFileSync(src.dockerfile)}\0`);
  if (src.target) h.update(`target\0${src.target}\0`);
  for (const [k, v] of Object.entries(src.buildArgs).sort()) {
    if (MIRROR_ARGS.has(k)) continue;
    h.update(`arg\0${k}=${v}\0`);
  }
  for (const rel of contextFiles(src.contextDir, ignoreRules(src))) {
    const abs = join(src.contextDir, rel);
    const exec = (statSync(abs).mode & 0o111) !== 0 ? 'x' : '-';
    h.update(`file\0${rel}\0${exec}\0`);
    h.update(createHash('sha256').update(readFileSync(abs)).digest());
  }
  return h.digest('hex').slice(0, 12);
}

/**
 * The ignore file Docker reads for this build, as BuildKit picks it: `<Dockerfile>.dockerignore`
 * beside the Dockerfile when there is one, else `.dockerignore` at the context root, else none.
 */
export function ignoreFileOf(src: Pick<ImageSource, 'contextDir' | 'dockerfile'>): string | undefined {
  const beside = `${src.dockerfile}.dockerignore`;
  const atRoot = join(src.contextDir, '.dockerignore');
  return existsSync(beside) ? beside : existsSync(atRoot) ? atRoot : undefined;
}

/** The compiled rules of the ignore file Docker reads for this build (none: everything is sent). */
export function ignoreRules(src: Pick<ImageSource, 'contextDir' | 'dockerfile'>): Rule[] {
  const file = ignoreFileOf(src);
  return compileDockerignore(file ? readFileSync(file, 'utf8') : '');
}

export const MIRROR_ARGS = new Set(['PIP_INDEX_URL', 'PIP_EXTRA_INDEX_URL', 'PIP_TRUSTED_HOST', 'NPM_CONFIG_REGISTRY']);

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

/**
 * What each declared component's image is built from: its context, its Dockerfile and stage, and
 * its build args: the declared ones and public build-time variables (a URL form resolved to the
 * URL a browser reaches it at), the base image override (TASKFLOW_<NAME>_BASE_IMAGE, else
 * build.baseImage) as the Dockerfile's base image argument, and the package mirrors for a
 * Dockerfile that asks for them.
 */
export function imageSources(config: Config): ImageSource[] {
  const s = config.settings;
  return Object.entries(config.app.components).map(([component, c]) => {
    const dockerfile = resolve(config.root, c.build.dockerfile);
    const wanted = dockerfileArgs(dockerfile);
    const buildArgs: Record<string, string> = {};
    for (const [k, v] of Object.entries({ ...c.build.args, ...c.build.public })) buildArgs[k] = isPublicUrl(v) ? publicUrl(config, v) : String(v);
    // A mirrored base is a different base: it is part of the content tag (mirror URLs are not).
    const base = config.components[component]?.baseImage || c.build.baseImage;
    if (base) buildArgs[baseImageArg(c)] = base;
    for (const mirror of MIRROR_ARGS) if (wanted.has(mirror) && s[mirror as SettingKey]) buildArgs[mirror] = String(s[mirror as SettingKey]);
    return { component, contextDir: resolve(config.root, c.build.context), dockerfile, ...(c.build.target ? { target: c.build.target } : {}), buildArgs };
  });
}

/** The repository a component's image is tagged into (<app>-<component>): local, or under TASKFLOW_IMAGE_REGISTRY. */
export function imageRepository(config: Config, component: string): string {
  const reg = config.settings.TASKFLOW_IMAGE_REGISTRY;
  const name = `${config.app.name}-${component}`;
  return reg ? `${reg}/${name}` : name;
}

/** The image setup would run now for each component, as the chart takes it: the repository and the content tag. */
export function expectedImageRefs(config: Config): ImageRefs {
  return Object.fromEntries(imageSources(config).map((src) => [src.component, { repository: imageRepository(config, src.component), tag: contentTag(src) }]));
}

/** The image setup would run now for each component ("taskflow-web:<content tag>"). */
export function expectedImages(config: Config): Record<string, string> {
  return Object.fromEntries(Object.entries(expectedImageRefs(config)).map(([component, i]) => [component, `${i.repository}:${i.tag}`]));
}

/** Each component's image as the chart takes it. */
export type ImageRefs = Record<string, { repository: string; tag: string }>;

/** One component's image: where it comes from, its reference, and what to do about it. */
export type ImagePlan = { src: ImageSource; repository: string; tag: string; ref: string; verdict: ImageVerdict };

/** Where images are built, where they are looked up, and whether a build still needs a delivery. */
type Target = {
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
function target(sn: Session, clusterRunning: boolean, route: ImageRoute): Target {
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
function builtIn(at: Target): string {
  return !at.registry && at.route.via === 'daemon' ? ` in ${at.route.where}` : '';
}

/** Builds every planned image that is missing, in parallel, where the route says, output in .cache/logs/build-<component>.log. */
export async function buildImages(sn: Session, plans: ImagePlan[], route: ImageRoute): Promise<ImagePlan[]> {
  const at = target(sn, true, route);
  const builds = plans.filter((p) => p.verdict.action === 'build');
  const logDir = join(sn.root, '.cache', 'logs');
  await Promise.all(
    builds.map((b) =>
      at.builder
        .build({ image: b.ref, dockerfile: b.src.dockerfile, context: b.src.contextDir, target: b.src.target, buildArgs: b.src.buildArgs, logFile: join(logDir, `build-${b.src.component}.log`) })
        .catch((err: Error) => {
          throw new UserError(`building ${b.ref}${builtIn(at)} failed; the full output is in .cache/logs/build-${b.src.component}.log`, err.message.split('\n').slice(-8).join('\n'));
        }),
    ),
  );
  return builds;
}

/** Delivers what the plans say to: a load into the cluster, or a push to the registry. */
export async function deliverBuilt(sn: Session, plans: ImagePlan[], clusterRunning: boolean, route: ImageRoute): Promise<ImagePlan[]> {
  const at = target(sn, clusterRunning, route);
  const logDir = join(sn.root, '.cache', 'logs');
  const deliveries = plans.filter((p) => p.verdict.action === 'deliver' || (p.verdict.action === 'build' && p.verdict.deliver));
  for (const d of deliveries) {
    const log = join(logDir, `${at.registry ? 'push' : 'load'}-${d.src.component}.log`);
    await (at.registry ? sn.tools.docker.push(d.ref, log) : sn.cluster.loadImage(d.ref, log));
  }
  return deliveries;
}

/**
 * The images step: build what is missing (in parallel, output in .cache/logs) where the cluster can
 * use it, and deliver what a host build left outside (load into the cluster, or push to the
 * registry). A dry run prints the builds and deliveries.
 */
export async function deliverImages(sn: Session, opts: { clusterRunning: boolean; route: Promise<ImageRoute> | ImageRoute; observed: Promise<ImagePlan[]> }): Promise<StepOutcome<ImageRefs>> {
  const route = await opts.route;
  const at = target(sn, opts.clusterRunning, route);
  const plans = await opts.observed;
  const missing = plans.filter((p) => p.verdict.action === 'skip-build');
  if (missing.length) {
    const refs = missing.map((p) => p.ref);
    const listed = refs.length > 1 ? `${refs.slice(0, -1).join(', ')} and ${refs.at(-1)}` : refs[0];
    const places = at.local ? `in neither ${at.where} nor local Docker` : `not in ${at.where} (${at.route.via === 'daemon' ? at.route.where : 'its runtime'})`;
    throw new InputError(`--skip-build, but ${listed} ${refs.length > 1 ? 'are' : 'is'} ${places}`, 'Run setup without --skip-build once.');
  }
  const toBuild = plans.filter((p) => p.verdict.action === 'build');
  if (toBuild.length && !sn.dryRun) sn.ui.info(`  building ${toBuild.map((b) => b.ref).join(', ')}${builtIn(at)} (output in .cache/logs/build-*.log)`);
  const builds = await buildImages(sn, plans, route);
  const deliveries = await deliverBuilt(sn, plans, opts.clusterRunning, route);
  const delivered = at.registry ? 'pushed' : 'loaded';
  const would = sn.dryRun ? 'would be ' : '';
  // Minikube's route is known once it runs: until then a build is only a build.
  const undecided = !at.registry && at.route.via === 'undecided';
  const built = builtIn(at) ? "built in the cluster's Docker daemon" : at.sharesDocker || undecided ? 'built' : `built and ${delivered}`;
  const lines = plans.map((p) => {
    const v = p.verdict;
    const what = v.action === 'none' ? `found in ${at.where}, skipping build` : v.action === 'deliver' ? `built already, ${would}${delivered}` : `${would}${built}`;
    return `${p.src.component} ${p.tag}: ${what}`;
  });
  // Where the images went, once something was built or delivered (or the route is not known yet).
  const why = !at.registry && (builds.length || deliveries.length || undecided) ? ` (${at.route.why})` : '';
  const images = Object.fromEntries(plans.map((p) => [p.src.component, { repository: p.repository, tag: p.tag }]));
  return { status: builds.length || deliveries.length ? 'done' : 'skipped', detail: `${lines.join('; ')}${why}`, value: images };
}
