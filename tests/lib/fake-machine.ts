// A fake machine for whole-script scenarios: a state file the fake CLIs in tests/fakes share,
// a bin directory holding only the fakes chosen (plus node and bash), and helpers to run the
// real entry scripts against it and read back every call they made.
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { alive } from '../../scripts/lib/core/pidfile.ts';
import { waitFor } from '../../scripts/lib/core/wait.ts';
import { root } from './chart.ts';
import { defaultHelm } from './tool-versions.ts';

export type Tool = 'docker' | 'minikube' | 'kind' | 'kubectl' | 'helm';
/** `dockerHost`: the DOCKER_HOST a docker call ran with (minikube's daemon), absent for the host's. */
export type Call = { tool: Tool; args: string[]; dockerHost?: string };

/** A pod as the fakes keep it; the fake helm creates them from the rendered workloads. */
export type FakePod = {
  name: string;
  /** metadata.uid; `uid-<name>` when absent. A pod recreated under its old name gets a new one. */
  uid?: string;
  ready: boolean;
  image: string;
  /** The container's name (the component's, as the chart names it); 'app' when absent. */
  container?: string;
  phase?: string;
  waiting?: string;
  /** state.waiting.message, as the kubelet words it for that reason. */
  waitingMessage?: string;
  restarts?: number;
  /** lastState.terminated.finishedAt of a restarted container (RFC 3339); the time of the read when absent. */
  lastFinishedAt?: string;
  labels: Record<string, string>;
  securityContext?: Record<string, unknown>;
  /** The current container's log, one line per line; append to it to make a follower print more. */
  logs?: string;
  /** The log of the instance before the last restart (what --previous reads). */
  previousLogs?: string;
};

/** The machine's state as the fakes keep it (see tests/fakes/_fake.cjs). */
export type FakeState = {
  docker: {
    daemon: boolean;
    version: string;
    cpus: number;
    memBytes: number;
    images: string[];
    /** Size the fake recorded for each image it built (a stand-in: repoBytes, else the context's bytes). */
    imageBytes?: Record<string, number>;
    /** Benches: the size to record for every image of a repository. */
    repoBytes?: Record<string, number>;
    registry?: string[];
    failBuild?: string;
    downInfo?: 'exit-1' | 'exit-0';
    httpRegistries?: string[];
  };
  minikube: {
    version: string;
    /** `runtime`: the profile's container runtime (docker when absent); `ip`: its node address (192.168.49.2 when absent). */
    profiles: Record<string, { host: 'Running' | 'Stopped' | 'Gone'; runtime?: 'docker' | 'containerd' | 'cri-o'; ip?: string; kubeconfig?: 'Misconfigured'; workers?: number; loadFails?: boolean; cpus: number; memory: string; addons: Record<string, boolean>; images: string[] }>;
  };
  kind: { version: string; containerdStore?: boolean; clusters: Record<string, { running: boolean; images: string[] }> };
  dockerDesktop: { running: boolean };
  kube: {
    clientVersion: string;
    contexts: Record<string, string>;
    current?: string;
    terminatingPolls: number;
    namespaces: Record<string, Record<string, { phase: 'Active' | 'Terminating'; polls: number }>>;
    pods: Record<string, Record<string, FakePod[]>>;
    pvcs: Record<string, Record<string, string[]>>;
    deployments: Record<string, Record<string, Record<string, { replicas: number }>>>;
    metricsApi?: boolean;
    /** Bump it to make the API server end every open watch (its request timeout): `get --watch` exits 0, silently. */
    closeWatches?: number;
    /** RBAC allows listing pods but not watching them: `get --watch` prints the list, then fails Forbidden. */
    watchForbidden?: boolean;
    objects: Record<string, Record<string, unknown[]>>;
    pvcPhase?: string;
    secrets?: Record<string, Record<string, Record<string, Record<string, string>>>>;
  };
  helm: {
    real: string;
    version: string;
    failUpgrade?: string;
    slowRollout?: boolean;
    releases: Record<string, { revisions: { revision: number; status: string; values: Record<string, unknown>; chart: string; appVersion?: string; updated?: string; chartDefaults?: Record<string, unknown>; manifests?: unknown[]; description?: string }[] }>;
  };
};

/** A Linux box with Docker running and the CLIs installed, but no cluster yet. */
export async function freshState(): Promise<FakeState> {
  return {
    docker: { daemon: true, version: '27.3.1', cpus: 8, memBytes: 16 * 1024 ** 3, images: [] },
    minikube: { version: 'v1.34.0', profiles: {} },
    kind: { version: 'v0.24.0', clusters: {} },
    dockerDesktop: { running: false },
    kube: { clientVersion: 'v1.31.2', contexts: {}, terminatingPolls: 2, namespaces: {}, pods: {}, pvcs: {}, deployments: {}, objects: {} },
    // helm.real must be a path: the fake helm runs with only the fakes on PATH, where "helm" is itself.
    helm: { real: await defaultHelm(), version: 'v3.15.4', releases: {} },
  };
}

export class FakeMachine {
  readonly dir: string;
  readonly bin: string;
  readonly envFile: string;
  readonly statePath: string;
  /** The machine's copy of the app declaration (TASKFLOW_APP_FILE), its build contexts pointing at the copies below. */
  readonly appFile: string;
  /** Copies of the reference app, so scenarios can edit sources without touching the repo. */
  readonly backendDir: string;
  readonly frontendDir: string;
  /** Each component's copied build context, by name (the reference app's or the one given with `app`). */
  readonly contexts: Record<string, string> = {};

  private constructor(dir: string) {
    this.dir = dir;
    this.bin = join(dir, 'bin');
    this.envFile = join(dir, 'taskflow.env');
    this.appFile = join(dir, 'app.yaml');
    this.statePath = join(dir, 'state.json');
    this.backendDir = join(dir, 'app', 'backend');
    this.frontendDir = join(dir, 'app', 'frontend');
  }

  /** `app`: the declaration to deploy, relative to the repo (default env/app.yaml, the reference app). */
  static async create(opts: { tools?: Tool[]; state?: (s: FakeState) => void; env?: string; app?: string } = {}): Promise<FakeMachine> {
    const m = new FakeMachine(mkdtempSync(join(tmpdir(), 'taskflow-machine-')));
    mkdirSync(m.bin);
    for (const t of opts.tools ?? ['docker', 'minikube', 'kind', 'kubectl', 'helm']) symlinkSync(join(root, 'tests', 'fakes', t), join(m.bin, t));
    // node runs the fakes (#!/usr/bin/env node); nothing else is on PATH, not even a shell: the
    // toolkit starts every program directly, as it must on Windows, where a shell rewrites /paths.
    symlinkSync(process.execPath, join(m.bin, 'node'));
    const copy = (from: string, to: string) =>
      cpSync(from, to, { recursive: true, filter: (src) => !/(node_modules|\.next|__pycache__|\.venv|\.pytest_cache|\.hypothesis)$/.test(src) });
    // The declaration, with each build context copied into the machine (a Dockerfile inside its
    // context goes with it; one of ours stays where it is). Its paths are relative to the
    // declaration file; the copy's are absolute.
    const declarationFile = join(root, opts.app ?? 'env/app.yaml');
    const declaration = parseYaml(readFileSync(declarationFile, 'utf8')) as { components: Record<string, { build: { context: string; dockerfile: string } }> };
    for (const [name, c] of Object.entries(declaration.components)) {
      const context = resolve(dirname(declarationFile), c.build.context);
      const dockerfile = resolve(dirname(declarationFile), c.build.dockerfile);
      const to = join(m.dir, relative(root, context));
      if (!existsSync(to)) copy(context, to);
      const inside = relative(context, dockerfile);
      c.build.dockerfile = !inside.startsWith('..') && !isAbsolute(inside) ? join(to, inside) : dockerfile;
      c.build.context = to;
      m.contexts[name] = to;
    }
    writeFileSync(m.appFile, stringifyYaml(declaration));
    const state = await freshState();
    opts.state?.(state);
    m.writeState(state);
    writeFileSync(`${m.statePath}.calls`, '');
    writeFileSync(m.envFile, opts.env ?? '');
    return m;
  }

  /** A running minikube cluster with its kube context and nothing installed: what a command that needs a release finds before setup. */
  static async clusterOnly(): Promise<FakeMachine> {
    return FakeMachine.create({
      state: (s) => {
        s.minikube.profiles.taskflow = { host: 'Running', cpus: 2, memory: '4096mb', addons: {}, images: [] };
        s.kube.contexts.taskflow = 'minikube:taskflow';
      },
    });
  }

  /** A machine on which setup has already run successfully, with the call log cleared. */
  static async deployed(opts: Parameters<typeof FakeMachine.create>[0] = {}): Promise<FakeMachine> {
    const m = await FakeMachine.create(opts);
    const r = await m.run('setup.ts');
    if (r.code !== 0) {
      m.remove();
      throw new Error(`setup failed on a fresh fake machine (exit ${r.code}):\n${r.output}`);
    }
    m.clearCalls();
    return m;
  }

  state(): FakeState {
    return JSON.parse(readFileSync(this.statePath, 'utf8')) as FakeState;
  }

  writeState(state: FakeState): void {
    // Written whole and renamed into place: a fake that runs meanwhile (a log follower, a poll)
    // reads the old state or the new one, never half a file.
    const tmp = `${this.statePath}.tmp-test`;
    writeFileSync(tmp, JSON.stringify(state, null, 2));
    renameSync(tmp, this.statePath);
  }

  patchState(fn: (s: FakeState) => void): void {
    const s = this.state();
    fn(s);
    this.writeState(s);
  }

  /** Every call the fakes received, in order. */
  calls(): Call[] {
    return readFileSync(`${this.statePath}.calls`, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Call);
  }

  /** PIDs of fake CLIs still running (each records itself while it lives). */
  liveProcesses(): number[] {
    const dir = `${this.statePath}.live`;
    return existsSync(dir) ? readdirSync(dir).map(Number).filter(alive) : [];
  }

  /** The calls of the fake CLIs still running, with their PIDs. */
  liveCalls(): (Call & { pid: number })[] {
    const dir = `${this.statePath}.live`;
    return this.liveProcesses().flatMap((pid) => {
      try {
        return [{ pid, ...(JSON.parse(readFileSync(`${dir}/${pid}`, 'utf8')) as Call) }];
      } catch {
        return []; // it exited between the two reads
      }
    });
  }

  clearCalls(): void {
    writeFileSync(`${this.statePath}.calls`, '');
  }

  env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: this.bin, FAKE_CLI_STATE: this.statePath, TASKFLOW_ENV_FILE: this.envFile, TASKFLOW_APP_FILE: this.appFile, CI: 'true', ...extra };
    delete env.HELM_BIN;
    for (const k of Object.keys(env)) if (k.startsWith('TASKFLOW_') && !['FAKE_CLI_STATE', 'TASKFLOW_ENV_FILE', 'TASKFLOW_APP_FILE'].includes(k) && !(k in extra)) delete env[k];
    return env;
  }

  /** Starts an entry script (setup, cleanup, …) as a real process on this machine. */
  spawn(script: string, args: string[], extra: Record<string, string> = {}): ChildProcess {
    return spawn(process.execPath, ['--import', 'tsx', join(root, 'scripts', script), ...args], {
      cwd: root,
      env: this.env(extra),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  }

  /**
   * Starts an entry script that keeps running (dev, logs): its output is read as it
   * comes, `until` waits up to `waitMs` for a line and fails at once if the command exits first,
   * and `interrupt` sends Ctrl+C and returns the result; it is killed after `killAfterMs` regardless.
   */
  start(script: string, args: string[], o: { extra?: Record<string, string>; waitMs?: number; killAfterMs?: number } = {}): Started {
    const child = this.spawn(script, args, o.extra);
    let out = '';
    let err = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    const done = collect(child, o.killAfterMs);
    const waitMs = o.waitMs ?? 15_000;
    const name = script.replace(/\.ts$/, '');
    return {
      child,
      stdout: () => out,
      stderr: () => err,
      until: async (re, what, stream = 'stdout') => {
        const printed = () => {
          if (re.test(stream === 'stdout' ? out : err)) return true;
          if (child.exitCode !== null) throw new Error(`${name} exited (${child.exitCode}) before ${what}:\n${out}\n${err}`);
          return false;
        };
        await waitFor(printed, { timeout: waitMs, interval: 50, describe: what, onTimeout: () => new Error(`no ${what} within ${waitMs / 1000}s; stdout:\n${out}\nstderr:\n${err}`) });
      },
      interrupt: async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
        const r = await done;
        return { ...r, stdout: out, stderr: err, output: out + err };
      },
    };
  }

  run(script: string, args: string[] = [], extra: Record<string, string> = {}): Promise<RunResult> {
    const child = this.spawn(script, args, extra);
    return collect(child);
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export type RunResult = { code: number; stdout: string; stderr: string; output: string };

/** An entry script left running by FakeMachine.start. */
export type Started = {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Waits until `re` matches the output so far (stdout unless told). */
  until(re: RegExp, what: string, stream?: 'stdout' | 'stderr'): Promise<void>;
  /** Ctrl+C, then the exit code and all the output. */
  interrupt(): Promise<RunResult>;
};

export function collect(child: ChildProcess, timeoutMs = 120_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal === 'SIGINT' ? 130 : 1), stdout, stderr, output: stdout + stderr });
    });
  });
}

/** Calls that change something: what a run with nothing to do, or a refused run, must not make. */
export function mutating(calls: Call[]): Call[] {
  const reads: Record<Tool, (a: string[]) => boolean> = {
    docker: (a) => a[0] === 'info' || (a[0] === 'image' && (a[1] === 'inspect' || a[1] === 'ls')) || a[0] === 'exec' || (a[0] === 'manifest' && a[1] === 'inspect'),
    minikube: (a) => ['version', 'status', 'ip', 'docker-env'].includes(a[0] ?? '') || (a[0] === 'addons' && a[1] === 'list') || (a[0] === 'image' && a[1] === 'ls'),
    kind: (a) => a[0] === 'version' || a[0] === 'get',
    kubectl: (a) => a.includes('get') || a[0] === 'version' || a[0] === 'config' || a.includes('logs'),
    helm: (a) => ['version', 'status', 'history', 'get', 'template', 'lint'].includes(a[0] ?? ''),
  };
  return calls.filter((c) => !reads[c.tool](c.args));
}

export const describeCalls = (calls: Call[]) => calls.map((c) => `${c.tool} ${c.args.join(' ')}`);
