// `port-forward`: supervised `kubectl port-forward` tunnels to the frontend and backend Services,
// restarted when a pod goes away, health-checked through the local port, optionally detached.
import { existsSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { portForwardPidFile, runningInstance, stopRunning } from './pidfile.ts';
import { delay as sleep } from './wait.ts';
import { loadConfig, type Config } from './config.ts';
import { ExitCode, UserError } from './errors.ts';
import { Exec } from './exec.ts';
import { makeCluster } from './cluster.ts';
import { makeTools } from './tools/index.ts';
import { Ui, formatMs } from './ui.ts';
import type { Component } from './names.ts';
import { choosePorts } from './ports.ts';
import { STARTUP_DEADLINE_MS, Supervisor } from './supervisor.ts';
import { planTunnels } from './tunnels.ts';
import type { FlagOverrides } from './session.ts';

export type PortForwardOptions = {
  root: string;
  autoPort?: boolean;
  detach?: boolean;
  stop?: boolean;
  verbose?: boolean;
  flags: FlagOverrides;
  /** The flags to hand a detached copy of this command (the entry point's passThroughFlags). */
  passThrough: string[];
};

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
    const choices = await choosePorts(exec, ports, opts.autoPort === true);
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
