// Stand-in base images for the project's Dockerfiles, made from Debian's packages and this machine's
// Node.js (nothing can be pulled here), each cached by a hash of its recipe.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { DOCKER, docker, run, which } from './run.ts';

/** Test-only names for the stand-in bases; the official names are never shadowed. */
export const PYTHON_BASE = 'taskflow-test/python:3.11';
export const NODE_BASE = 'taskflow-test/node:20';
const ROOTFS_IMAGE = 'taskflow-test/rootfs:bookworm';
const RECIPE_LABEL = 'taskflow.test.recipe';
const SUITE = 'bookworm';
const CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

/** The Debian mirror apt on this machine uses, read from its sources (deb822 first, then the one-line list). */
export function aptMirror(): string {
  const candidates: string[] = [];
  const dir = '/etc/apt/sources.list.d';
  if (existsSync(dir)) {
    for (const name of readdirSync(dir).sort()) {
      if (!name.endsWith('.sources')) continue;
      // deb822: blank-line separated stanzas; take a stanza that carries the main (non-security) suite.
      for (const stanza of readFileSync(join(dir, name), 'utf8').split(/\n\s*\n/)) {
        const field = (key: string) => new RegExp(`^${key}:\\s*(.+)$`, 'mi').exec(stanza)?.[1]?.trim();
        const uris = field('URIs');
        const suites = field('Suites') ?? '';
        const types = field('Types') ?? 'deb';
        if (!uris || !/\bdeb\b/.test(types)) continue;
        if (suites.split(/\s+/).some((s) => !s.includes('security') && !s.includes('-'))) candidates.push(...uris.split(/\s+/));
      }
    }
  }
  if (existsSync('/etc/apt/sources.list')) {
    for (const line of readFileSync('/etc/apt/sources.list', 'utf8').split('\n')) {
      const m = /^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/.exec(line);
      if (m?.[1] && m[2] && !m[2].includes('security') && !m[2].includes('-')) candidates.push(m[1]);
    }
  }
  const mirror = candidates.find((u) => /^https?:\/\//.test(u));
  if (!mirror) throw new Error('no Debian mirror found in /etc/apt/sources.list.d/*.sources or /etc/apt/sources.list');
  return mirror.replace(/\/+$/, '');
}

const sha = (...parts: (string | Buffer)[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex').slice(0, 24);
};

async function imageLabel(image: string, label: string): Promise<string | undefined> {
  const r = await run(DOCKER, ['image', 'inspect', '--format', `{{index .Config.Labels "${label}"}}`, image]);
  return r.code === 0 ? r.stdout.trim() : undefined;
}

function fileHash(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** A Debian minbase root filesystem imported as an image; debootstrap runs only when the recipe changed. */
async function ensureRootfs(log: (s: string) => void): Promise<string> {
  const mirror = aptMirror();
  const recipe = sha('rootfs-v1', SUITE, 'minbase', mirror);
  if ((await imageLabel(ROOTFS_IMAGE, RECIPE_LABEL)) === recipe) return recipe;
  const debootstrap = which('debootstrap') ?? (existsSync('/usr/sbin/debootstrap') ? '/usr/sbin/debootstrap' : undefined);
  if (!debootstrap) throw new Error('debootstrap is not installed (apt-get install debootstrap)');
  const work = mkdtempSync(join(tmpdir(), 'taskflow-rootfs-'));
  const rootfs = join(work, 'rootfs');
  try {
    log(`debootstrap --variant=minbase ${SUITE} from ${mirror}`);
    const r = await run(debootstrap, ['--variant=minbase', SUITE, rootfs, mirror], { env: process.env, timeoutMs: 10 * 60_000 });
    if (r.code !== 0) throw new Error(`debootstrap failed (exit ${r.code}):\n${(r.stdout + r.stderr).split('\n').slice(-20).join('\n')}`);
    // Downloaded packages and package lists are not part of a base; the base builds refresh lists.
    for (const sub of ['var/cache/apt/archives', 'var/lib/apt/lists']) {
      for (const name of readdirSync(join(rootfs, sub))) {
        if (name !== 'partial' && name !== 'lock') rmSync(join(rootfs, sub, name), { recursive: true, force: true });
      }
    }
    const tar = spawn('tar', ['-C', rootfs, '-c', '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
    await docker(['import', '--change', `LABEL ${RECIPE_LABEL}=${recipe}`, '-', ROOTFS_IMAGE], { input: tar.stdout, timeoutMs: 5 * 60_000 });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return recipe;
}

/** Builds image `tag` from a generated Dockerfile plus files, unless an image with the same recipe exists. */
async function ensureRecipeImage(tag: string, dockerfile: string, files: Record<string, string>, recipeParts: string[], log: (s: string) => void): Promise<void> {
  const recipe = sha(tag, dockerfile, ...recipeParts);
  if ((await imageLabel(tag, RECIPE_LABEL)) === recipe) return;
  const ctx = mkdtempSync(join(tmpdir(), 'taskflow-base-'));
  try {
    writeFileSync(join(ctx, 'Dockerfile'), dockerfile);
    for (const [name, from] of Object.entries(files)) {
      mkdirSync(dirname(join(ctx, name)), { recursive: true });
      cpSync(from, join(ctx, name), { recursive: true, dereference: true });
    }
    log(`building stand-in base ${tag}`);
    await docker(['build', '--network', 'host', '--progress', 'plain', '--label', `${RECIPE_LABEL}=${recipe}`, '-t', tag, ctx], { timeoutMs: 10 * 60_000 });
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }
}

// The proxy on this network inspects TLS; its CA is in the host bundle, so the bases carry that
// bundle and point every client at it.
const CA_ENV = `ENV SSL_CERT_FILE=${CA_BUNDLE} PIP_CERT=${CA_BUNDLE} NODE_EXTRA_CA_CERTS=${CA_BUNDLE}`;

/**
 * Stand-ins for python:3.12-slim and node:20-alpine, made from Debian's packages and this
 * machine's Node.js (nothing can be pulled here). Cached by a hash of their recipe.
 */
export async function ensureBaseImages(log: (s: string) => void = () => {}): Promise<{ python: string; node: string }> {
  const rootfsRecipe = sha('rootfs-v1', SUITE, 'minbase', aptMirror());
  const caHash = fileHash(CA_BUNDLE);

  const pythonDockerfile = [
    `FROM ${ROOTFS_IMAGE}`,
    // ca-certificates (pulled in here) rewrites the bundle, so the host's bundle is copied after.
    'RUN apt-get update \\',
    ' && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 python3-venv \\',
    ' && ln -sf /usr/bin/python3 /usr/local/bin/python \\',
    ' && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb',
    `COPY ca-certificates.crt ${CA_BUNDLE}`,
    CA_ENV,
    'CMD ["python3"]',
    '',
  ].join('\n');

  const nodeBin = realpathSync(process.execPath);
  const nodePrefix = resolve(dirname(which('node') ?? nodeBin), '..');
  const npmDir = join(nodePrefix, 'lib', 'node_modules', 'npm');
  if (!existsSync(join(npmDir, 'bin', 'npm-cli.js'))) throw new Error(`npm not found at ${npmDir}`);
  const npmVersion = (JSON.parse(readFileSync(join(npmDir, 'package.json'), 'utf8')) as { version: string }).version;
  const nodeDockerfile = [
    `FROM ${ROOTFS_IMAGE}`,
    'COPY node /usr/local/bin/node',
    'COPY npm /usr/local/lib/node_modules/npm',
    'RUN printf \'#!/bin/sh\\nexec /usr/local/bin/node /usr/local/lib/node_modules/npm/bin/npm-cli.js "$@"\\n\' > /usr/local/bin/npm \\',
    ' && printf \'#!/bin/sh\\nexec /usr/local/bin/node /usr/local/lib/node_modules/npm/bin/npx-cli.js "$@"\\n\' > /usr/local/bin/npx \\',
    ' && chmod 755 /usr/local/bin/npm /usr/local/bin/npx && node --version && npm --version',
    `COPY ca-certificates.crt ${CA_BUNDLE}`,
    CA_ENV,
    'CMD ["node"]',
    '',
  ].join('\n');

  const havePython = (await imageLabel(PYTHON_BASE, RECIPE_LABEL)) === sha(PYTHON_BASE, pythonDockerfile, rootfsRecipe, caHash);
  const haveNode = (await imageLabel(NODE_BASE, RECIPE_LABEL)) === sha(NODE_BASE, nodeDockerfile, rootfsRecipe, caHash, process.version, npmVersion);
  if (havePython && haveNode) return { python: PYTHON_BASE, node: NODE_BASE };

  await ensureRootfs(log);
  await ensureRecipeImage(PYTHON_BASE, pythonDockerfile, { 'ca-certificates.crt': CA_BUNDLE }, [rootfsRecipe, caHash], log);
  await ensureRecipeImage(NODE_BASE, nodeDockerfile, { 'ca-certificates.crt': CA_BUNDLE, node: nodeBin, npm: npmDir }, [rootfsRecipe, caHash, process.version, npmVersion], log);
  return { python: PYTHON_BASE, node: NODE_BASE };
}
