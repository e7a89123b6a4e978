// Builds the Next.js frontend once (npm ci / next build only when inputs changed) and runs its standalone server for tests.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../scripts/lib/core/net.ts';
import { startServer } from './server.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
export const frontendDir = join(root, 'app', 'frontend');
const standaloneDir = join(frontendDir, '.next', 'standalone');
const LOCK_STAMP = join(frontendDir, 'node_modules', '.taskflow-lock-hash');
const BUILD_STAMP = join(frontendDir, '.next', '.taskflow-source-hash');
const OUTPUT_TAIL = 8_000;

// Generated or installed things that are not build inputs.
const NOT_SOURCES = new Set(['node_modules', '.next', 'next-env.d.ts']);

/** The environment for child processes, minus npm's own variables: an outer `npm test` must not steer the inner npm. */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k)) env[k] = v;
  return { ...env, NEXT_TELEMETRY_DISABLED: '1', ...extra };
}

function tail(text: string): string {
  return text.length > OUTPUT_TAIL ? `…${text.slice(-OUTPUT_TAIL)}` : text;
}

function run(cmd: string, args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(cmd, args, { cwd, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const secs = ((Date.now() - started) / 1000).toFixed(1);
      if (code === 0) {
        process.stderr.write(`frontend: ${cmd} ${args.join(' ')} took ${secs}s\n`);
        resolve();
      } else {
        reject(new Error(`${cmd} ${args.join(' ')} failed (${signal ?? `exit ${code}`}) after ${secs}s:\n${tail(output)}`));
      }
    });
  });
}

function hashFiles(files: string[]): string {
  const h = createHash('sha256');
  for (const file of files) {
    h.update(relative(frontendDir, file).split(sep).join('/'));
    h.update('\0');
    h.update(readFileSync(file));
    h.update('\0');
  }
  return h.digest('hex');
}

function sourceFiles(dir: string = frontendDir): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (NOT_SOURCES.has(entry.name) || entry.name.endsWith('.tsbuildinfo')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(path));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

function readStamp(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** server.js serves `.next/static` and `public/` only when they sit beside it; next build leaves that copy to us. */
function copyAssets(): void {
  const staticTarget = join(standaloneDir, '.next', 'static');
  rmSync(staticTarget, { recursive: true, force: true });
  cpSync(join(frontendDir, '.next', 'static'), staticTarget, { recursive: true });
  const publicSource = join(frontendDir, 'public');
  const publicTarget = join(standaloneDir, 'public');
  rmSync(publicTarget, { recursive: true, force: true });
  if (existsSync(publicSource)) cpSync(publicSource, publicTarget, { recursive: true });
}

let building: Promise<string> | undefined;

/**
 * Installs the frontend's dependencies when the lockfile changed, builds it when its sources changed,
 * and returns the standalone directory (server.js with its static assets beside it).
 */
export function ensureFrontendBuild(): Promise<string> {
  building ??= (async () => {
    const lockHash = hashFiles([join(frontendDir, 'package.json'), join(frontendDir, 'package-lock.json')]);
    if (!existsSync(join(frontendDir, 'node_modules', 'next')) || readStamp(LOCK_STAMP) !== lockHash) {
      await run('npm', ['ci', '--no-audit', '--no-fund'], frontendDir);
      writeFileSync(LOCK_STAMP, `${lockHash}\n`);
    }
    const serverJs = join(standaloneDir, 'server.js');
    if (!existsSync(serverJs) || readStamp(BUILD_STAMP) !== hashFiles(sourceFiles())) {
      await run('npm', ['run', 'build'], frontendDir);
      if (!existsSync(serverJs)) throw new Error(`next build finished but ${relative(root, serverJs)} is missing`);
      copyAssets();
      // Hashed after the build: next build may have settled tsconfig.json, and that settled state is what is built.
      writeFileSync(BUILD_STAMP, `${hashFiles(sourceFiles())}\n`);
    } else if (!existsSync(join(standaloneDir, '.next', 'static'))) {
      copyAssets();
    }
    return standaloneDir;
  })().finally(() => {
    building = undefined;
  });
  return building;
}

export type RunningFrontend = { url: string; stop(): Promise<void> };

/** Runs the built standalone server against `backendUrl`; resolves once GET /api/health answers 200. */
export async function startFrontend({ backendUrl, port }: { backendUrl: string; port?: number }): Promise<RunningFrontend> {
  const dir = await ensureFrontendBuild();
  const listenPort = port ?? (await freePort());
  const url = `http://127.0.0.1:${listenPort}`;
  const server = await startServer({
    name: 'the frontend server',
    command: process.execPath,
    args: ['server.js'],
    cwd: dir,
    env: childEnv({ PORT: String(listenPort), HOSTNAME: '127.0.0.1', BACKEND_URL: backendUrl, NODE_ENV: 'production' }),
    healthUrl: `${url}/api/health`,
  });
  return { url, stop: server.stop };
}
