// Starts a throwaway PostgreSQL server (initdb + pg_ctl in a temp dir, 127.0.0.1 only) for tests and benches.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { freePort } from '../../scripts/lib/core/net.ts';

export type Postgres = { url: string; port: number; stop(): Promise<void> };

const DB_NAME = 'taskflow';
const DB_USER = 'taskflow';
const MISSING = 'PostgreSQL server binaries not found: apt-get install postgresql';

/** The directory holding initdb, pg_ctl and psql: PATH first, then Debian's versioned dirs, newest first. */
function findBinDir(): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl'))) return dir;
  }
  const base = '/usr/lib/postgresql';
  if (existsSync(base)) {
    const versions = readdirSync(base)
      .filter((v) => existsSync(join(base, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return join(base, versions[0], 'bin');
  }
  throw new Error(MISSING);
}

function findTool(binDir: string, name: string): string {
  // PATH may hold initdb/pg_ctl symlinks without psql beside them; Debian's versioned dir always has all three.
  const candidates = [join(binDir, name), ...readdirSafe('/usr/lib/postgresql').map((v) => join('/usr/lib/postgresql', v, 'bin', name))];
  for (const dir of (process.env.PATH ?? '').split(delimiter)) if (dir) candidates.push(join(dir, name));
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`${name} not found: apt-get install postgresql`);
  return found;
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir).sort().reverse();
  } catch {
    return [];
  }
}

type Runner = { argv(cmd: string, args: string[]): [string, string[]] };

/** PostgreSQL refuses to run as root, so as root every server command runs as the `postgres` user. */
function makeRunner(): { runner: Runner; uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return { runner: { argv: (cmd, args) => [cmd, args] } };
  const id = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (id.status !== 0 || gid.status !== 0) {
    throw new Error("running as root needs a 'postgres' user to run the server as (apt-get install postgresql creates it)");
  }
  const hasRunuser = spawnSync('sh', ['-c', 'command -v runuser'], { encoding: 'utf8' }).status === 0;
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const runner: Runner = hasRunuser
    ? { argv: (cmd, args) => ['runuser', ['-u', 'postgres', '--', cmd, ...args]] }
    : { argv: (cmd, args) => ['su', ['postgres', '-s', '/bin/sh', '-c', [cmd, ...args].map(quote).join(' ')]] };
  return { runner, uid: Number(id.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

function run(runner: Runner, cmd: string, args: string[], cwd: string, timeoutMs = 120_000): Promise<string> {
  const [file, argv] = runner.argv(cmd, args);
  return new Promise((resolve, reject) => {
    const child = spawn(file, argv, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`${cmd}: ${err.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else reject(new Error(`${cmd} ${args.join(' ')} failed (${signal ?? `exit ${code}`}):\n${output.trim()}`));
    });
  });
}

// Servers still running when the process exits (a crash, a timeout's SIGTERM) are stopped synchronously.
const live = new Set<{ stopSync(): void }>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const server of live) server.stopSync();
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    // Only when nobody else handles the signal: then the default would be to die without 'exit' hooks.
    if (process.listenerCount(signal) === 0) process.once(signal, () => process.exit(signal === 'SIGINT' ? 130 : 143));
  }
}

export async function startPostgres(): Promise<Postgres> {
  const binDir = findBinDir();
  const initdb = join(binDir, 'initdb');
  const pgCtl = join(binDir, 'pg_ctl');
  const psql = findTool(binDir, 'psql');
  const { runner, uid, gid } = makeRunner();

  const dir = mkdtempSync(join(tmpdir(), 'taskflow-pg-'));
  if (uid !== undefined && gid !== undefined) chownSync(dir, uid, gid);
  const dataDir = join(dir, 'data');
  const socketDir = dir;
  const logFile = join(dir, 'postgres.log');
  const password = randomBytes(18).toString('hex');

  let started = false;
  const cleanupDir = () => rmSync(dir, { recursive: true, force: true });
  const stopSync = () => {
    if (started) {
      const [file, argv] = runner.argv(pgCtl, ['-D', dataDir, 'stop', '-m', 'immediate', '-w', '-t', '10']);
      spawnSync(file, argv, { stdio: 'ignore', cwd: dir });
      started = false;
    }
    cleanupDir();
  };
  const handle = { stopSync };

  try {
    await run(runner, initdb, [
      '-D', dataDir, '-U', 'postgres', '--encoding=UTF8', '--locale=C', '--no-sync',
      // Only the socket (inside a 0700 dir) trusts; TCP, even on loopback, needs the password.
      '--auth-local=trust', '--auth-host=scram-sha-256',
    ], dir);

    // A port picked here can be taken before the server binds it; a few tries make that harmless.
    let port = 0;
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      const options = [
        `-p ${port}`, "-c listen_addresses=127.0.0.1", `-c unix_socket_directories=${socketDir}`,
        // A throwaway database: durability only costs time here.
        '-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off', '-c max_connections=100',
      ].join(' ');
      try {
        await run(runner, pgCtl, ['-D', dataDir, '-l', logFile, '-w', '-t', '60', '-o', options, 'start'], dir);
        started = true;
        live.add(handle);
        installExitHook();
        break;
      } catch (err) {
        if (attempt >= 3) throw new Error(`${(err as Error).message}\n${tail(logFile)}`);
      }
    }

    await run(runner, psql, [
      '-h', socketDir, '-p', String(port), '-U', 'postgres', '-d', 'postgres', '-v', 'ON_ERROR_STOP=1', '-q',
      '-c', `CREATE ROLE ${DB_USER} LOGIN PASSWORD '${password}'`,
      '-c', `CREATE DATABASE ${DB_NAME} OWNER ${DB_USER}`,
    ], dir);

    let stopped = false;
    return {
      url: `postgresql://${DB_USER}:${password}@127.0.0.1:${port}/${DB_NAME}`,
      port,
      async stop() {
        if (stopped) return;
        stopped = true;
        live.delete(handle);
        try {
          if (started) await run(runner, pgCtl, ['-D', dataDir, 'stop', '-m', 'fast', '-w', '-t', '30'], dir);
          started = false;
        } finally {
          stopSync();
        }
      },
    };
  } catch (err) {
    live.delete(handle);
    stopSync();
    throw err;
  }
}

function tail(file: string, lines = 20): string {
  try {
    if (!statSync(file).isFile()) return '';
    return readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}
