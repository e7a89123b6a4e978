// What the port-forward scenarios share: a bin dir whose only kubectl is the fake, "pods" (local
// HTTP servers the fake forwards to), and the command run as a real process with its output watched.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { alive as running } from '../../scripts/lib/core/pidfile.ts';
import { GiveUp, until } from '../lib/wait.ts';

export const root = fileURLToPath(new URL('../../', import.meta.url));
const entry = join(root, 'tests', 'port-forward', 'entry.ts');
const fakeModule = join(root, 'tests', 'fakes', 'kubectl-port-forward.cjs');

/** Whether a process still runs; a zombie (exited, not yet reaped by a container's init) counts as gone. */
export function alive(pid: number): boolean {
  if (!running(pid)) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

/** A stand-in pod: answers the health paths and names itself on /. */
export type Pod = { port: number; hits: number; stop(): Promise<void> };

export function startPod(name: string, port = 0): Promise<Pod> {
  const pod = { port: 0, hits: 0 } as Pod;
  const server: Server = createServer((req, res) => {
    pod.hits++;
    if (req.url === '/health' || req.url === '/api/health') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"status":"ok"}');
    } else {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(name);
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const a = server.address();
      pod.port = typeof a === 'object' && a ? a.port : 0;
      pod.stop = () =>
        new Promise<void>((done) => {
          server.closeAllConnections();
          server.close(() => done());
        });
      resolve(pod);
    });
  });
}

/** One scratch world: a project root for the PID file and log, a bin dir, the fake's record dir. */
export type World = {
  dir: string;
  root: string;
  bin: string;
  records: string;
  env: Record<string, string>;
  /** Where each Service's pod listens from the next kubectl start on (a rollout). */
  setTargets(targets: Record<string, number>): void;
  /** Every kubectl run so far: its PID and argv. */
  calls(): { pid: number; args: string[] }[];
  pidFile: string;
  cleanup(): void;
};

/**
 * Makes the scratch dirs. PATH is the bin dir alone: the fake kubectl (which hands `port-forward`
 * to tests/fakes/kubectl-port-forward.cjs and fails loudly on anything else), node, bash for zx,
 * and lsof when the machine has it — never the real kubectl in /usr/bin.
 */
export function makeWorld(targets: Record<string, number>, opts: { kubectl?: boolean } = {}): World {
  const dir = mkdtempSync(join(tmpdir(), 'taskflow-pf-'));
  const bin = join(dir, 'bin');
  const records = join(dir, 'records');
  const scratchRoot = join(dir, 'root');
  const targetsFile = join(dir, 'targets.json');
  for (const d of [bin, records, scratchRoot, join(scratchRoot, 'env')]) mkdirSync(d, { recursive: true });
  // The scratch root declares the project's app: its declaration, and the folders it names.
  symlinkSync(join(root, 'env', 'app.yaml'), join(scratchRoot, 'env', 'app.yaml'));
  for (const d of ['app', 'docker']) symlinkSync(join(root, d), join(scratchRoot, d));
  if (opts.kubectl !== false) {
    const kubectl = join(bin, 'kubectl');
    writeFileSync(
      kubectl,
      `#!/usr/bin/env node
// Fake kubectl for the port-forward tests: only \`port-forward\` is known.
const args = process.argv.slice(2);
if (!args.includes('port-forward')) {
  process.stderr.write('fake kubectl: unsupported: ' + args.join(' ') + '\\n');
  process.exit(99);
}
require(${JSON.stringify(fakeModule)})(args, process.env);
`,
    );
    chmodSync(kubectl, 0o755);
  }
  symlinkSync(process.execPath, join(bin, 'node'));
  for (const tool of ['bash', 'lsof']) {
    const found = ['/usr/bin', '/bin', '/usr/sbin', '/sbin'].map((d) => join(d, tool)).find((p) => existsSync(p));
    if (found) symlinkSync(found, join(bin, tool));
  }
  const env: Record<string, string> = {};
  // The developer's own TASKFLOW_* settings must not steer the scenarios.
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('TASKFLOW_') && !k.startsWith('FAKE_KUBECTL_')) env[k] = v;
  Object.assign(env, {
    PATH: bin,
    CI: 'true',
    PORT_FORWARD_TEST_ROOT: scratchRoot,
    TASKFLOW_ENV_FILE: join(dir, 'none.env'),
    FAKE_KUBECTL_PF_TARGETS_FILE: targetsFile,
    FAKE_KUBECTL_PF_DIR: records,
  });
  const setTargets = (t: Record<string, number>) => writeFileSync(targetsFile, JSON.stringify(t));
  setTargets(targets);
  return {
    dir,
    root: scratchRoot,
    bin,
    records,
    env,
    setTargets,
    pidFile: join(scratchRoot, '.cache', 'port-forward.pid'),
    calls() {
      const file = join(records, 'calls.jsonl');
      if (!existsSync(file)) return [];
      return readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { pid: number; args: string[] });
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The command running as a real process, its output collected as it comes. */
export type Run = {
  child: ChildProcess;
  output(): string;
  /** Resolves with the exit code (signals count as 128+n). */
  exited: Promise<number>;
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
};

export function runCommand(world: World, args: string[], extraEnv: Record<string, string> = {}): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', entry, ...args], {
    cwd: root,
    env: { ...world.env, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number>((resolve) => {
    child.once('close', (code, signal) => resolve(code ?? (signal === 'SIGINT' ? 130 : signal === 'SIGTERM' ? 143 : 137)));
  });
  let done = false;
  void exited.then(() => (done = true));
  const run: Run = {
    child,
    output: () => out,
    exited,
    async waitFor(pattern, timeoutMs = 20_000) {
      const what = `${pattern} in the output of port-forward ${args.join(' ')}`;
      const printed = () => {
        if (pattern.test(out)) return true;
        if (done) throw new GiveUp(`port-forward exited before printing ${pattern}:\n${out}`);
        return false;
      };
      await until(what, printed, { timeoutMs, intervalMs: 50 }).catch((err: Error) => {
        throw new Error(`${err.message}\n--- output so far ---\n${out}`);
      });
    },
    async stop() {
      if (done) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
  return run;
}

/** Runs the command to completion and returns its exit code and output. */
export async function runToEnd(world: World, args: string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<{ code: number; output: string }> {
  const run = runCommand(world, args, env);
  const timer = setTimeout(() => run.child.kill('SIGKILL'), timeoutMs);
  try {
    return { code: await run.exited, output: run.output() };
  } finally {
    clearTimeout(timer);
  }
}

/** GET through a local port; the body, or undefined when nothing answered 200. */
export async function get(port: number, path: string): Promise<string | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(2000) });
    const text = await res.text();
    return res.status === 200 ? text : undefined;
  } catch {
    return undefined;
  }
}
