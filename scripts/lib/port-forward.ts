// `port-forward`: supervised `kubectl port-forward` tunnels to the frontend and backend Services,
// restarted when a pod goes away, health-checked through the local port, optionally detached.
import { existsSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, relative } from 'node:path';
import { portForwardLogFile, portForwardPidFile, removePidFileOf, runningInstance, stopRunning, writePidFile } from './pidfile.ts';
import { delay as sleep } from './wait.ts';
import { loadConfig, type Config, type SettingKey } from './config.ts';
import { ExitCode, InputError, PrerequisiteError, UserError } from './errors.ts';
import { Exec, type LongRunning } from './exec.ts';
import { parseFlags } from './cli.ts';
import { settingFlagsHelp, settingOverrides } from './flags.ts';
import { makeCluster } from './cluster.ts';
import { makeTools } from './tools/index.ts';
import { Ui, formatMs } from './ui.ts';

import { serviceName } from './names.ts';

export { chartFullname, serviceName, type Component } from './names.ts';
import type { Component } from './names.ts';

export type Tunnel = {
  component: Component;
  service: string;
  localPort: number;
  remotePort: number;
  /** GET through the tunnel that must answer 200 before it counts as up. */
  healthPath: string;
};

/** The chart's Service ports and the health path each component serves. */
export const componentDefaults: Record<Component, { remotePort: number; healthPath: string }> = {
  frontend: { remotePort: 3000, healthPath: '/api/health' },
  backend: { remotePort: 8000, healthPath: '/health' },
};

/** How long start-up may take: pods still starting make kubectl fail fast, so it is retried until then. */
const STARTUP_DEADLINE_MS = 120_000;
/** A tunnel that stayed up this long was healthy; its next failure starts the backoff afresh. */
const HEALTHY_RUN_MS = 10_000;
const MAX_AUTO_PORT_TRIES = 100;

/** The exact kubectl argv for one tunnel; every call names its context and namespace. */
export function portForwardArgs(context: string, namespace: string, t: Tunnel): string[] {
  return ['--context', context, '--namespace', namespace, 'port-forward', `service/${t.service}`, `${t.localPort}:${t.remotePort}`];
}

/** Reconnect delays: 0.5s, 1s, 2s, 4s, then 8s for as long as it takes. */
export function nextBackoff(previousMs?: number): number {
  return previousMs === undefined ? 500 : Math.min(previousMs * 2, 8000);
}

export function planTunnels(release: string, ports: Record<Component, number>): Tunnel[] {
  return (['frontend', 'backend'] as const).map((component) => ({
    component,
    service: serviceName(release, component),
    localPort: ports[component],
    ...componentDefaults[component],
  }));
}

/** What kubectl's last error line means before the tunnels were ever up: worth retrying, or a problem to report. */
export type KubectlVerdict = { retry: true } | { retry: false; error: UserError };

export function classifyKubectlError(line: string, t: Tunnel, context: string, namespace: string): KubectlVerdict {
  if (/context .* does not exist|context was not found/i.test(line)) {
    return {
      retry: false,
      error: new PrerequisiteError(`kube context "${context}" does not exist`, 'Run setup first, or name an existing context with --context (kubectl config get-contexts lists them).'),
    };
  }
  if (/NotFound|services? ".*" not found/i.test(line)) {
    return {
      retry: false,
      error: new UserError(
        `service/${t.service} was not found in namespace ${namespace} (context ${context})`,
        'Run setup first, or check --namespace / TASKFLOW_NAMESPACE and TASKFLOW_RELEASE.',
      ),
    };
  }
  if (/unable to listen|address already in use/i.test(line)) {
    return { retry: false, error: new InputError(`port ${t.localPort} (${t.component}) was taken before kubectl could listen on it`, 'Rerun, or pass --auto-port.') };
  }
  if (/connection to the server .* was refused|no such host|Unable to connect to the server/i.test(line)) {
    return { retry: false, error: new PrerequisiteError(`the cluster of context "${context}" is not answering: ${line}`, 'Start it with setup, then rerun port-forward.') };
  }
  return { retry: true };
}

// ── ports ────────────────────────────────────────────────────────────────────────────────────

/** True when nothing listens on 127.0.0.1:port (kubectl binds there). */
export function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** Reads `lsof -nP -iTCP:PORT -sTCP:LISTEN` output: "node (pid 123)" for the first listener. */
export function parseLsof(stdout: string): string | undefined {
  const row = stdout.split('\n').slice(1).map((l) => l.trim().split(/\s+/)).find((cols) => cols.length > 1 && /^\d+$/.test(cols[1] ?? ''));
  return row ? `${row[0]} (pid ${row[1]})` : undefined;
}

/** Who listens on the port, when lsof can say so cheaply; undefined otherwise. */
export async function portHolder(exec: Exec, port: number): Promise<string | undefined> {
  try {
    const out = await exec.run('lsof', ['-nP', `-iTCP:${port}`, '-sTCP:LISTEN'], { nothrow: true, timeoutMs: 3000 });
    return out.exitCode === 0 ? parseLsof(out.stdout) : undefined;
  } catch {
    return undefined; // no lsof: the port number alone has to do
  }
}

export type PortChoice = { component: Component; wanted: number; port: number; holder?: string };

/** Checks each wanted port; a busy one is an InputError naming it, or with autoPort the next free one. */
export async function choosePorts(exec: Exec, wanted: Record<Component, number>, autoPort: boolean): Promise<PortChoice[]> {
  const choices: PortChoice[] = [];
  const taken = new Set<number>();
  const busy: PortChoice[] = [];
  for (const component of ['frontend', 'backend'] as const) {
    const port = wanted[component];
    if (!taken.has(port) && (await portFree(port))) {
      choices.push({ component, wanted: port, port });
      taken.add(port);
      continue;
    }
    const holder = taken.has(port) ? `the ${choices.find((c) => c.port === port)?.component} tunnel` : await portHolder(exec, port);
    if (!autoPort) {
      busy.push({ component, wanted: port, port, ...(holder ? { holder } : {}) });
      continue;
    }
    let next = port;
    for (let i = 0; i < MAX_AUTO_PORT_TRIES; i++) {
      next = next >= 65535 ? 1024 : next + 1;
      if (!taken.has(next) && (await portFree(next))) break;
    }
    choices.push({ component, wanted: port, port: next, ...(holder ? { holder } : {}) });
    taken.add(next);
  }
  if (busy.length) {
    const what = busy.map((b) => `port ${b.port} (${b.component}) is in use${b.holder ? ` by ${b.holder}` : ''}`).join('; ');
    throw new InputError(what, 'Free it, pick another with --frontend-port / --backend-port (TASKFLOW_FRONTEND_PORT / TASKFLOW_BACKEND_PORT), or pass --auto-port to take the next free one.');
  }
  return choices;
}

// ── the supervisor ───────────────────────────────────────────────────────────────────────────

type TunnelState = {
  tunnel: Tunnel;
  child?: LongRunning;
  /** When the current kubectl printed "Forwarding from", if it has. */
  forwardingSince?: number;
  lastError: string;
  reconnects: number;
};

export type SupervisorOptions = {
  exec: Exec;
  kubectl?: string;
  context: string;
  namespace: string;
  tunnels: Tunnel[];
  /** Reconnect lines and, when verbose, kubectl's own output. */
  log: (line: string) => void;
  verbose?: boolean;
};

/** Keeps one `kubectl port-forward` per tunnel running until stop(); a child that exits is restarted with backoff. */
export class Supervisor {
  private readonly states: TunnelState[];
  private readonly abort = new AbortController();
  private ready = false;
  private fatal?: (err: Error) => void;
  private readonly failed: Promise<never>;
  private loops: Promise<void>[] = [];

  constructor(private readonly o: SupervisorOptions) {
    this.states = o.tunnels.map((tunnel) => ({ tunnel, lastError: '', reconnects: 0 }));
    this.failed = new Promise<never>((_, reject) => (this.fatal = reject));
    this.failed.catch(() => {}); // observed through start() and done()
  }

  get reconnects(): number {
    return this.states.reduce((n, s) => n + s.reconnects, 0);
  }

  /** Starts every tunnel; resolves once each answers its health path, rejects on a fatal error or the deadline. */
  async start(onHealthy: (t: Tunnel, detail: string, ms: number) => void, deadlineMs = STARTUP_DEADLINE_MS): Promise<void> {
    this.loops = this.states.map((s) => this.keep(s));
    const deadline = Date.now() + deadlineMs;
    await Promise.race([
      Promise.all(
        this.states.map(async (s) => {
          const t0 = Date.now();
          const status = await this.waitHealthy(s, deadline);
          onHealthy(s.tunnel, status, Date.now() - t0);
        }),
      ),
      this.failed,
    ]);
    this.ready = true;
  }

  /** Settles when the supervisor is stopped (resolves) or hits an error it cannot retry (rejects). */
  done(): Promise<void> {
    return Promise.race([Promise.all(this.loops).then(() => undefined), this.failed]);
  }

  /** Stops every child and waits for them to exit. */
  async stop(): Promise<void> {
    this.abort.abort();
    await Promise.all(this.states.map((s) => s.child?.stop(3000)));
    await Promise.all(this.loops);
  }

  /** Signals every child at once; for process 'exit' hooks, where nothing can be awaited. */
  killNow(): void {
    this.abort.abort();
    for (const s of this.states) s.child?.kill('SIGTERM');
  }

  private async keep(s: TunnelState): Promise<void> {
    const t = s.tunnel;
    const args = portForwardArgs(this.o.context, this.o.namespace, t);
    let delay: number | undefined;
    while (!this.abort.signal.aborted) {
      s.forwardingSince = undefined;
      s.lastError = '';
      const child = this.o.exec.start(this.o.kubectl ?? 'kubectl', args, {
        onLine: (line, stream) => {
          if (/^Forwarding from /.test(line)) s.forwardingSince ??= Date.now();
          else if (stream === 'stderr' && line.trim()) s.lastError = line.trim();
          if (this.o.verbose && !/^Handling connection/.test(line)) this.o.log(`  [${t.component}] ${line}`);
        },
      });
      s.child = child;
      const exit = await child.exited;
      s.child = undefined;
      if (this.abort.signal.aborted) return;
      if (exit.error) {
        this.fatal?.(exit.error instanceof PrerequisiteError ? new PrerequisiteError(exit.error.message, 'Install kubectl 1.27 or newer: https://kubernetes.io/docs/tasks/tools/') : exit.error);
        return;
      }
      if (!this.ready && s.forwardingSince === undefined) {
        const verdict = classifyKubectlError(s.lastError, t, this.o.context, this.o.namespace);
        if (!verdict.retry) {
          this.fatal?.(verdict.error);
          return;
        }
      }
      const upFor = s.forwardingSince === undefined ? 0 : Date.now() - s.forwardingSince;
      delay = upFor >= HEALTHY_RUN_MS ? nextBackoff() : nextBackoff(delay);
      s.reconnects++;
      const why = `${exit.signal ?? `exit ${exit.code}`}${s.lastError ? `: ${s.lastError}` : ''}`;
      this.o.log(`↻ ${t.component}: kubectl port-forward ended (${why}); reconnecting in ${formatMs(delay)}`);
      await sleep(delay, this.abort.signal);
    }
  }

  private async waitHealthy(s: TunnelState, deadline: number): Promise<string> {
    const t = s.tunnel;
    const url = `http://127.0.0.1:${t.localPort}${t.healthPath}`;
    let last = 'no answer yet';
    while (!this.abort.signal.aborted) {
      // Only a forwarding kubectl can answer; probing earlier could reach whoever grabbed the port.
      if (s.forwardingSince !== undefined) {
        try {
          const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
          const body = (await res.text()).replace(/\s+/g, ' ').slice(0, 120);
          if (res.status === 200) return `GET ${t.healthPath} ${res.status}`;
          last = `GET ${t.healthPath} → ${res.status} ${body}`;
        } catch (err) {
          const cause = (err as { cause?: { code?: string } }).cause?.code;
          last = `GET ${t.healthPath}: ${cause ?? (err as Error).message}`;
        }
      } else if (s.lastError) {
        last = `kubectl: ${s.lastError}`;
      }
      if (Date.now() > deadline) {
        throw new UserError(
          `${t.component} did not answer 200 through localhost:${t.localPort} within ${formatMs(STARTUP_DEADLINE_MS)} (last: ${last})`,
          `Check the pods: kubectl --context ${this.o.context} --namespace ${this.o.namespace} get pods`,
        );
      }
      // Waiting for kubectl to listen is cheap to poll; a failing health check is not hammered.
      await sleep(s.forwardingSince === undefined ? 100 : 500, this.abort.signal);
    }
    throw new UserError('stopped before the tunnels were up');
  }
}

// ── the command ──────────────────────────────────────────────────────────────────────────────

export const portForwardFlags = {
  driver: { type: 'string' },
  context: { type: 'string' },
  namespace: { type: 'string' },
  'frontend-port': { type: 'string' },
  'backend-port': { type: 'string' },
  'auto-port': { type: 'boolean' },
  detach: { type: 'boolean' },
  stop: { type: 'boolean' },
  verbose: { type: 'boolean', short: 'v' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const portForwardHelp = `Usage: port-forward [options]

Forwards the frontend to localhost:3000 and the backend to localhost:8000 with kubectl
port-forward, checks each through the local port (GET /api/health, GET /health) before saying
ready, and restarts a tunnel whenever its kubectl exits (a rollout, scale or crash replaced the
pod), waiting 0.5s, 1s, 2s … up to 8s between tries. Ctrl+C stops everything it started.

Options:
${settingFlagsHelp.split('\n').filter((l) => !l.trimStart().startsWith('--profile')).join('\n')}
  --frontend-port N  local port for the frontend (default 3000)    [TASKFLOW_FRONTEND_PORT]
  --backend-port N   local port for the backend (default 8000)     [TASKFLOW_BACKEND_PORT]
  --auto-port        when a port is in use, take the next free one instead of failing
  --detach           keep running in the background (log: .cache/logs/port-forward.log)
  --stop             stop the one running in the background
  -v, --verbose      print every command run and kubectl's own output
  -h, --help         show this help

Running it while one already runs says so and exits 0.

Exit codes: 0 stopped cleanly (or already running), 1 a tunnel could not be brought up,
2 bad flags or a port in use, 3 kubectl or the cluster missing, 130 interrupted.`;

export type PortForwardOptions = {
  root: string;
  autoPort: boolean;
  detach: boolean;
  stop: boolean;
  verbose: boolean;
  flags: Partial<Record<SettingKey, { value: string; flag: string }>>;
  /** The flags to hand a detached copy of this command (see passThroughFlags). */
  passThrough: string[];
};

/** Maps --frontend-port / --backend-port to the settings they override (the config loader validates them). */
export function portOverrides(values: { 'frontend-port'?: string; 'backend-port'?: string }) {
  const out: Partial<Record<SettingKey, { value: string; flag: string }>> = {};
  if (values['frontend-port'] !== undefined) out.TASKFLOW_FRONTEND_PORT = { value: values['frontend-port'], flag: '--frontend-port' };
  if (values['backend-port'] !== undefined) out.TASKFLOW_BACKEND_PORT = { value: values['backend-port'], flag: '--backend-port' };
  return out;
}

/** The flags a detached copy of this command needs again (ports are added once chosen). */
export function passThroughFlags(values: { driver?: string; context?: string; namespace?: string; verbose?: boolean }): string[] {
  const out: string[] = [];
  for (const name of ['driver', 'context', 'namespace'] as const) {
    const v = values[name];
    if (v !== undefined) out.push(`--${name}`, v);
  }
  if (values.verbose) out.push('--verbose');
  return out;
}

export function logFile(root: string): string {
  return join(root, '.cache', 'logs', 'port-forward.log');
}

function urlsLine(ports: Record<Component, number>): string {
  return `frontend http://localhost:${ports.frontend}   backend http://localhost:${ports.backend} (API docs /docs)`;
}

export async function runPortForward(opts: PortForwardOptions): Promise<number> {
  const ui = new Ui({ json: false });
  const pidFile = portForwardPidFile(opts.root);
  const shownPidFile = relative(opts.root, pidFile);

  if (opts.stop) {
    const r = await stopRunning(pidFile);
    ui.info(r.pid === undefined ? 'port-forward: none running' : `port-forward: stopped (pid ${r.pid}${r.forced ? ', killed after it ignored SIGTERM' : ''})`);
    return ExitCode.ok;
  }

  const exec = new Exec({ verbose: opts.verbose });
  const config: Config = loadConfig({ root: opts.root, flags: opts.flags });
  const s = config.settings;
  const context = s.TASKFLOW_KUBE_CONTEXT || makeCluster(config, makeTools(exec)).context;

  const running = runningInstance(pidFile);
  if (running !== undefined) {
    ui.info(`port-forward is already running (pid ${running}); stop it with: npx tsx scripts/port-forward.ts --stop`);
    return ExitCode.ok;
  }

  ui.info(`taskflow port-forward: context ${context}, namespace ${s.TASKFLOW_NAMESPACE}, release ${s.TASKFLOW_RELEASE}`);
  const ports = { frontend: s.TASKFLOW_FRONTEND_PORT, backend: s.TASKFLOW_BACKEND_PORT };
  await ui.step('ports', async () => {
    const choices = await choosePorts(exec, ports, opts.autoPort);
    for (const c of choices) ports[c.component] = c.port;
    const moved = choices.filter((c) => c.port !== c.wanted);
    const detail = choices.map((c) => (c.port === c.wanted ? `${c.component} ${c.port}` : `${c.component} ${c.port} (${c.wanted} is in use${c.holder ? ` by ${c.holder}` : ''})`)).join(', ');
    return { status: 'done', detail: `${detail}${moved.length ? '' : ' free'}` };
  });
  const tunnels = planTunnels(s.TASKFLOW_RELEASE, ports);

  if (opts.detach) {
    const log = logFile(opts.root);
    const shownLog = relative(opts.root, log);
    let pid: number | undefined;
    await ui.step('background supervisor', async () => {
      const from = existsSync(log) ? statSync(log).size : 0;
      const script = process.argv[1];
      if (!script) throw new Error('cannot tell which script to run in the background');
      const child = exec.start(
        process.execPath,
        [...process.execArgv, script, ...opts.passThrough, '--frontend-port', String(ports.frontend), '--backend-port', String(ports.backend)],
        { detachTo: log },
      );
      pid = child.pid;
      if (pid === undefined) throw (await child.exited).error ?? new UserError('could not start the background supervisor');
      mkdirSync(dirname(pidFile), { recursive: true });
      writeFileSync(pidFile, `${pid}\n`);
      const fresh = () => (existsSync(log) ? readFileSync(log, 'utf8').slice(from) : '');
      const deadline = Date.now() + STARTUP_DEADLINE_MS + 10_000;
      for (;;) {
        const text = fresh();
        if (/^ready: /m.test(text)) break;
        const gone = !child.running();
        if (gone || Date.now() > deadline) {
          child.kill('SIGTERM');
          rmSync(pidFile, { force: true });
          const tail = text.trim().split('\n').slice(-6).join('\n');
          const err = /^✖ (.*)$/m.exec(text)?.[1];
          throw new UserError(`the background port-forward ${gone ? 'stopped' : 'was not ready in time'}${err ? `: ${err}` : ''}`, `Its output (${shownLog}):\n${tail}`);
        }
        await sleep(200);
      }
      return { status: 'done', detail: `pid ${pid}, tunnels healthy (${shownPidFile})` };
    });
    ui.info('');
    ui.info(`ready: ${urlsLine(ports)}`);
    ui.info(`  log: ${shownLog}   stop: npx tsx scripts/port-forward.ts --stop (cleanup stops it too)`);
    return ExitCode.ok;
  }

  // The foreground supervisor records itself too, so a second run or cleanup can find it.
  mkdirSync(dirname(pidFile), { recursive: true });
  writeFileSync(pidFile, `${process.pid}\n`);
  const ownPidFile = () => {
    try {
      if (readFileSync(pidFile, 'utf8').trim() === String(process.pid)) rmSync(pidFile, { force: true });
    } catch {
      /* already gone */
    }
  };
  const supervisor = new Supervisor({ exec, context, namespace: s.TASKFLOW_NAMESPACE, tunnels, log: (l) => ui.info(l), verbose: opts.verbose });
  // Ctrl+C ends the process through runMain's handler; this hook makes sure no kubectl outlives it.
  const onExit = () => {
    supervisor.killNow();
    ownPidFile();
  };
  process.on('exit', onExit);
  let stopSignal: string | undefined;
  const stopped = new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      stopSignal = signal;
      void supervisor.stop().then(resolve);
    };
    process.once('SIGTERM', stop);
    process.once('SIGHUP', stop);
  });

  try {
    try {
      await supervisor.start((t, detail, ms) => {
        ui.info(`✔ ${t.component} — localhost:${t.localPort} → service/${t.service}:${t.remotePort}, ${detail} (${formatMs(ms)})`);
      });
    } catch (err) {
      if (stopSignal) return ExitCode.ok;
      throw err;
    }
    ui.info('');
    ui.info(`ready: ${urlsLine(ports)}`);
    ui.info('Ctrl+C stops both; a tunnel whose pod is replaced reconnects by itself.');
    await Promise.race([supervisor.done(), stopped]);
    ui.info(`port-forward: stopped${stopSignal ? ` (${stopSignal})` : ''} after ${supervisor.reconnects} reconnect${supervisor.reconnects === 1 ? '' : 's'}`);
    return ExitCode.ok;
  } finally {
    await supervisor.stop();
    ownPidFile();
    process.removeListener('exit', onExit);
  }
}

/** Flags → runPortForward. The entry point passes the project root; tests pass a scratch one. */
export async function portForwardMain(argv: string[], root: string): Promise<number> {
  const { values: f } = parseFlags(argv, portForwardFlags, 'port-forward');
  if (f.help) {
    console.log(portForwardHelp);
    return ExitCode.ok;
  }
  return runPortForward({
    root,
    autoPort: f['auto-port'] === true,
    detach: f.detach === true,
    stop: f.stop === true,
    verbose: f.verbose === true,
    flags: { ...settingOverrides(f), ...portOverrides(f) },
    passThrough: passThroughFlags(f),
  });
}
