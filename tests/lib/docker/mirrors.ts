// Package mirrors for the image builds: this machine's pip indexes served to builds over loopback, and its npm registry.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../../scripts/lib/core/net.ts';
import { GiveUp, until } from '../wait.ts';

const PIP_INDEX_PORT_BASE = 38461;

/** Whether 127.0.0.1:port can be bound right now. */
function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const srv = createServer();
    srv.once('error', () => resolvePromise(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolvePromise(true)));
  });
}

/** Whether something accepts TCP connections on 127.0.0.1:port right now. */
function listening(port: number): Promise<boolean> {
  return new Promise((r) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), r(true)));
    s.once('error', () => r(false));
  });
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

/** The directory a pip setting names, when it names a local one: a file:// URL or an absolute path. */
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
    const up = () => {
      if (child.exitCode !== null) throw new GiveUp(`python3 -m http.server on port ${port} exited (code ${child.exitCode})`);
      return listening(port);
    };
    await until(`the pip index server on 127.0.0.1:${port}`, up, { intervalMs: 200 });
    return port;
  };
  // A remote URL stays as it is; a local directory is served, and one that is gone is left out.
  // One at a time, so each directory keeps its preferred port from run to run.
  const reachable = async (settings: string[], urlOf: (dir: string) => Promise<string>): Promise<string[]> => {
    const urls: string[] = [];
    for (const setting of settings) {
      const dir = localDir(setting);
      if (!dir) urls.push(setting);
      else if (existsSync(dir) && statSync(dir).isDirectory()) urls.push(await urlOf(dir));
    }
    return urls;
  };
  try {
    // Index pages link to files as ../../files/…, so serve the directory above "simple".
    const indexes = await reachable(indexUrls, async (dir) => `http://127.0.0.1:${await serve(dirname(dir))}/${basename(dir)}/`);
    const links = await reachable(findLinks, async (dir) => `http://127.0.0.1:${await serve(dir)}/`);
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
