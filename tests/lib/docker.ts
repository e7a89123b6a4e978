// Real Docker for the image tests and benchmark: engine start-up, stand-in base images, a loopback pip index, builds, containers.
import { spawn, spawnSync, type SpawnOptions } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Debian's client, never /usr/local/bin/docker: the engine here is Debian's docker.io, and a
 * newer client from elsewhere may speak an API version that engine refuses.
 */
export const DOCKER = process.env.TASKFLOW_TEST_DOCKER ?? '/usr/bin/docker';

/** Test-only names for the stand-in bases; the official names are never shadowed. */
export const PYTHON_BASE = 'taskflow-test/python:3.11';
export const NODE_BASE = 'taskflow-test/node:20';
const ROOTFS_IMAGE = 'taskflow-test/rootfs:bookworm';
const RECIPE_LABEL = 'taskflow.test.recipe';
const SUITE = 'bookworm';
const CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

/** Every build and container uses the host network: the engine runs with bridges switched off. */
const dockerEnv = { ...process.env, DOCKER_BUILDKIT: '1' };

export type RunResult = { code: number; stdout: string; stderr: string };

/** Runs a command to completion and collects its output; input, if given, goes to stdin. */
export function run(cmd: string, args: readonly string[], opts: { input?: string | NodeJS.ReadableStream; cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? dockerEnv, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = opts.timeoutMs
      ? setTimeout(() => {
          stderr += `\n(killed after ${opts.timeoutMs} ms)`;
          child.kill('SIGKILL');
        }, opts.timeoutMs)
      : undefined;
    child.on('error', (err) => {
      if (timer) clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolvePromise({ code: code ?? (signal ? 1 : 0), stdout, stderr });
    });
    if (typeof opts.input === 'string') child.stdin.end(opts.input);
    else if (opts.input) opts.input.pipe(child.stdin);
    else child.stdin.end();
  });
}

/** Runs docker with the given arguments; throws with the output's tail when it fails. */
export async function docker(args: readonly string[], opts: { input?: string | NodeJS.ReadableStream; timeoutMs?: number; cwd?: string } = {}): Promise<string> {
  const r = await run(DOCKER, args, opts);
  if (r.code !== 0) {
    const tail = `${r.stdout}\n${r.stderr}`.trim().split('\n').slice(-40).join('\n');
    throw new Error(`docker ${args.slice(0, 3).join(' ')} … failed (exit ${r.code}):\n${tail}`);
  }
  return r.stdout.trim();
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function engineAnswers(): Promise<boolean> {
  try {
    const r = await run(DOCKER, ['info', '--format', '{{.ServerVersion}}'], { timeoutMs: 15_000 });
    return r.code === 0 && r.stdout.trim() !== '';
  } catch {
    return false;
  }
}

function which(cmd: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/**
 * Makes sure a Docker engine answers, starting dockerd (no bridge, no iptables: neither exists in
 * this sandbox) when none does. The engine is left running like a system service, so base images
 * and build caches stay warm for the next run. Throws "no Docker engine could be started: …".
 */
export async function ensureEngine(): Promise<void> {
  const fail = (why: string) => new Error(`no Docker engine could be started: ${why}`);
  if (!existsSync(DOCKER)) throw fail(`${DOCKER} is missing (apt-get install docker.io)`);
  if (await engineAnswers()) return;
  const dockerd = which('dockerd');
  if (!dockerd) throw fail('dockerd is not installed (apt-get install docker.io)');
  const logFile = join(tmpdir(), 'taskflow-dockerd.log');
  const fd = openSync(logFile, 'a');
  try {
    const child = spawn(dockerd, ['--bridge=none', '--iptables=false'], { detached: true, stdio: ['ignore', fd, fd] } satisfies SpawnOptions);
    child.unref();
    let exited: number | null | undefined;
    child.on('exit', (code) => (exited = code));
    for (let i = 0; i < 60; i++) {
      await sleep(1000);
      if (await engineAnswers()) return;
      if (exited !== undefined) break;
    }
  } finally {
    closeSync(fd);
  }
  const log = existsSync(logFile) ? readFileSync(logFile, 'utf8').trim().split('\n').slice(-15).join('\n') : '';
  throw fail(`dockerd did not answer within 60 s; last lines of ${logFile}:\n${log}`);
}

// ---------------------------------------------------------------------------------------------
// Stand-in base images

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

// ---------------------------------------------------------------------------------------------
// Package mirrors for builds

/** A free TCP port on loopback (the kernel picks; a tiny race with other binders is accepted). */
export function freePort(): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolvePromise(addr.port) : reject(new Error('no port'))));
    });
  });
}

const PIP_INDEX_PORT_BASE = 38461;

/** Whether 127.0.0.1:port can be bound right now. */
function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const srv = createServer();
    srv.once('error', () => resolvePromise(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolvePromise(true)));
  });
}

/** Resolves once something accepts TCP connections on 127.0.0.1:port. */
export async function waitForPort(port: number, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((r) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), r(true)));
      s.once('error', () => r(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await sleep(200);
  }
}

export type PipIndex = {
  /** Build args for backend.Dockerfile: PIP_INDEX_URL and, where needed, extra indexes and find-links. */
  buildArgs: Record<string, string>;
  stop(): Promise<void>;
};

/** Reads pip's effective index settings (`pip config list`, which includes PIP_* env vars). */
export function pipSettings(): { indexUrls: string[]; findLinks: string[] } {
  const r = spawnSync('python3', ['-m', 'pip', 'config', 'list'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`pip config list failed: ${r.stderr}`);
  const values = (key: string) => {
    const out: string[] = [];
    for (const line of r.stdout.split('\n')) {
      const m = /^[^.]*\.([a-z-]+)='(.*)'$/.exec(line.trim());
      if (m?.[1] === key && m[2]) out.push(...m[2].split(/\s+/).filter(Boolean));
    }
    return out;
  };
  const unique = (xs: string[]) => [...new Set(xs)];
  return { indexUrls: unique([...values('index-url'), ...values('extra-index-url')]), findLinks: unique(values('find-links')) };
}

function localDir(urlOrPath: string): string | undefined {
  if (urlOrPath.startsWith('file://')) return fileURLToPath(urlOrPath);
  if (urlOrPath.startsWith('/')) return urlOrPath;
  return undefined;
}

/**
 * Serves this machine's local package indexes to builds over loopback (a build container on the
 * host network reaches 127.0.0.1, not the host's files). One http.server per directory, each
 * serving only that directory's parent, so nothing else on disk is exposed.
 */
export async function servePipIndex(): Promise<PipIndex> {
  const { indexUrls, findLinks } = pipSettings();
  const servers: { child: ReturnType<typeof spawn>; port: number }[] = [];
  const stop = async () => {
    for (const s of servers) {
      s.child.kill('SIGTERM');
    }
    await Promise.all(servers.map((s) => new Promise<void>((r) => (s.child.exitCode !== null ? r() : s.child.once('exit', () => r())))));
  };
  const serve = async (dir: string): Promise<number> => {
    // The URL is a build arg that pip's RUN step sees, so it is part of that step's cache key:
    // a stable port keeps warm builds warm. Falls back to any free port when taken.
    const preferred = PIP_INDEX_PORT_BASE + servers.length;
    const port = (await portIsFree(preferred)) ? preferred : await freePort();
    const child = spawn('python3', ['-m', 'http.server', String(port), '--bind', '127.0.0.1', '--directory', dir], { stdio: 'ignore' });
    servers.push({ child, port });
    // A child outlives a parent that exits without stopping it (crash, timeout): kill it on exit.
    const onExit = () => child.kill('SIGTERM');
    process.once('exit', onExit);
    child.once('exit', () => process.removeListener('exit', onExit));
    await waitForPort(port);
    return port;
  };
  try {
    const indexes: string[] = [];
    for (const u of indexUrls) {
      const dir = localDir(u);
      if (!dir) {
        indexes.push(u);
        continue;
      }
      if (!existsSync(dir)) continue;
      // Index pages link to files as ../../files/…, so serve the directory above "simple".
      const port = await serve(dirname(dir));
      indexes.push(`http://127.0.0.1:${port}/${basename(dir)}/`);
    }
    const links: string[] = [];
    for (const f of findLinks) {
      const dir = localDir(f);
      if (!dir) {
        links.push(f);
        continue;
      }
      if (!existsSync(dir) || !statSync(dir).isDirectory()) continue;
      links.push(`http://127.0.0.1:${await serve(dir)}/`);
    }
    const buildArgs: Record<string, string> = {};
    const [first, ...rest] = indexes;
    if (first) buildArgs.PIP_INDEX_URL = first;
    if (rest.length) buildArgs.PIP_EXTRA_INDEX_URL = rest.join(' ');
    if (links.length) buildArgs.PIP_FIND_LINKS = links.join(' ');
    return { buildArgs, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The npm registry this machine's npm uses, passed to the frontend build as NPM_CONFIG_REGISTRY. */
export function npmRegistry(): string {
  const r = spawnSync('npm', ['config', 'get', 'registry'], { encoding: 'utf8', cwd: tmpdir() });
  const reg = r.stdout.trim();
  if (r.status !== 0 || !/^https?:\/\//.test(reg)) throw new Error(`npm config get registry gave no URL: ${r.stderr}`);
  return reg;
}

// ---------------------------------------------------------------------------------------------
// Project images

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
  // The label marks the harness's builds, so superseded ones can be pruned without touching others.
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

const BUILD_LABEL = 'taskflow.test.build';

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

// ---------------------------------------------------------------------------------------------
// Containers

export type Container = { id: string; name: string };

/** Options every project container runs with: the hardening the Helm chart applies too. */
export const HARDENED = ['--read-only', '--tmpfs', '/tmp', '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges'];

/** Starts a detached container on the host network; env values go through an env file, not argv. */
export async function runContainer(o: { image: string; name?: string; env?: Record<string, string>; extraArgs?: string[]; cmd?: string[] }): Promise<Container> {
  const name = o.name ?? `taskflow-test-${randomBytes(4).toString('hex')}`;
  const args = ['run', '-d', '--name', name, '--network', 'host', '--label', 'taskflow.test=1', ...(o.extraArgs ?? [])];
  let envDir: string | undefined;
  if (o.env && Object.keys(o.env).length) {
    // An env file keeps secret values off the process list.
    envDir = mkdtempSync(join(tmpdir(), 'taskflow-env-'));
    const file = join(envDir, 'env');
    writeFileSync(file, Object.entries(o.env).map(([k, v]) => `${k}=${v}\n`).join(''), { mode: 0o600 });
    args.push('--env-file', file);
  }
  args.push(o.image, ...(o.cmd ?? []));
  try {
    const id = await docker(args);
    return { id, name };
  } finally {
    if (envDir) rmSync(envDir, { recursive: true, force: true });
  }
}

/** Removes containers (running or not), ignoring ones already gone. */
export async function removeContainers(...containers: (Container | undefined)[]): Promise<void> {
  const names = containers.filter((c): c is Container => c !== undefined).map((c) => c.name);
  if (names.length) await run(DOCKER, ['rm', '-f', '-v', ...names]);
}

export async function containerLogs(c: Container): Promise<string> {
  const r = await run(DOCKER, ['logs', '--tail', '80', c.name]);
  return `${r.stdout}${r.stderr}`;
}

/** Waits until the image's HEALTHCHECK reports healthy; fails early when the container exits. */
export async function waitHealthy(c: Container, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const r = await run(DOCKER, ['inspect', '--format', '{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}', c.name]);
    last = r.stdout.trim();
    const [status, health] = last.split(' ');
    if (health === 'healthy') return;
    if (health === 'none') throw new Error(`${c.name} has no HEALTHCHECK`);
    if (status === 'exited' || status === 'dead') break;
    await sleep(1000);
  }
  throw new Error(`${c.name} not healthy (${last}); logs:\n${await containerLogs(c)}`);
}

/** Runs a command inside a running container and returns its stdout. */
export async function execIn(c: Container, cmd: string[]): Promise<string> {
  return docker(['exec', c.name, ...cmd]);
}

export async function inspectImage<T = unknown>(image: string): Promise<T> {
  const out = JSON.parse(await docker(['image', 'inspect', image])) as T[];
  if (!out[0]) throw new Error(`no image ${image}`);
  return out[0];
}

/** `docker history --no-trunc` lines: size in bytes and the instruction that made each layer. */
export async function history(image: string): Promise<{ id: string; bytes: number; createdBy: string }[]> {
  const out = await docker(['history', '--no-trunc', '--human=false', '--format', '{{.ID}}\t{{.Size}}\t{{.CreatedBy}}', image]);
  return out.split('\n').filter(Boolean).map((line) => {
    const [id = '', size = '0', ...rest] = line.split('\t');
    return { id, bytes: Number(size) || 0, createdBy: rest.join('\t') };
  });
}

/** Bytes of the layers an image adds on top of its base (layers not in the base's rootfs). */
export async function ownLayerBytes(image: string, base: string): Promise<number> {
  // history lists newest first, metadata steps included; the base's own entries are the oldest
  // ones, so everything above that many entries is the image's own.
  const imgHist = await history(image);
  const baseHist = await history(base);
  return imgHist.slice(0, imgHist.length - baseHist.length).reduce((n, h) => n + h.bytes, 0);
}

/** Writes text to a temp file and returns its path (for env files handed to tools). */
export function tempFile(name: string, text: string): { path: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'taskflow-'));
  const path = join(dir, name);
  writeFileSync(path, text, { mode: 0o600 });
  return { path, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

// ---------------------------------------------------------------------------------------------
// The project's two images, as the tests and the benchmark build them

export const BACKEND_DOCKERFILE = join(repoRoot, 'docker', 'backend.Dockerfile');
export const FRONTEND_DOCKERFILE = join(repoRoot, 'docker', 'frontend.Dockerfile');
export const BACKEND_DIR = join(repoRoot, 'app', 'backend');
export const FRONTEND_DIR = join(repoRoot, 'app', 'frontend');

export type ImageBuilder = {
  bases: { python: string; node: string };
  /** Build args (mirrors) the harness passes; the tests check the images never record them. */
  pipArgs: Record<string, string>;
  npmArgs: Record<string, string>;
  buildBackend(o: { context: string; tag: string; noCache?: boolean }): Promise<{ log: string; seconds: number }>;
  buildFrontend(o: { context: string; tag: string; noCache?: boolean }): Promise<{ log: string; seconds: number }>;
  /** Stops the loopback pip index. */
  close(): Promise<void>;
};

/** Engine, stand-in bases and package mirrors: everything needed before the project's builds. */
export async function prepareImageBuilds(log: (s: string) => void = () => {}): Promise<ImageBuilder> {
  await ensureEngine();
  const bases = await ensureBaseImages(log);
  const pip = await servePipIndex();
  const npmArgs = { NPM_CONFIG_REGISTRY: npmRegistry() };
  return {
    bases,
    pipArgs: pip.buildArgs,
    npmArgs,
    buildBackend: (o) => buildImage({ dockerfile: BACKEND_DOCKERFILE, context: o.context, tag: o.tag, noCache: o.noCache, buildArgs: { BASE_IMAGE: bases.python, ...pip.buildArgs } }),
    buildFrontend: (o) => buildImage({ dockerfile: FRONTEND_DOCKERFILE, context: o.context, tag: o.tag, noCache: o.noCache, buildArgs: { BASE_IMAGE: bases.node, ...npmArgs } }),
    close: () => pip.stop(),
  };
}
