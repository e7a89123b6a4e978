// Content-addressed image tags: a hash of the build context (after .dockerignore), the Dockerfile and
// the build args. Same source, same tag, nothing to do; changed source, new tag, the Deployment rolls.
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { baseImageArg, dockerfileArgs, isPublicUrl } from '../app/declaration.ts';
import { publicUrl } from '../app/components.ts';
import type { Config, SettingKey } from '../app/config.ts';
import { contextFiles, ignoreRules } from './ignore.ts';

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

export const MIRROR_ARGS = new Set(['PIP_INDEX_URL', 'PIP_EXTRA_INDEX_URL', 'PIP_TRUSTED_HOST', 'NPM_CONFIG_REGISTRY']);

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
