// `port-forward`: tunnels to the Services of the components that declare a local port, supervised in this process until
// Ctrl+C, or by a background copy of the command (--detach) that --stop and cleanup end.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { relative } from 'node:path';
import { forwardedPorts } from '../app/components.ts';
import { ExitCode, InputError, UserError } from '../core/errors.ts';
import { describeStop, portForwardLogFile, portForwardPidFile, removePidFileOf, runningInstance, serveControl, stopRunning } from '../core/pidfile.ts';
import { choosePorts } from '../tunnels/ports.ts';
import { openSession, type FlagOverrides, type Session } from '../core/session.ts';
import { STARTUP_DEADLINE_MS, Supervisor } from '../tunnels/supervisor.ts';
import { planTunnels } from '../tunnels/tunnels.ts';
import { Ui, formatMs } from '../core/ui.ts';
import { waitFor } from '../core/wait.ts';

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

/** Local port by component, in declaration order. */
type Ports = Record<string, number>;

function urlsLine(ports: Ports): string {
  return Object.entries(ports).map(([c, p]) => `${c} http://localhost:${p}`).join('   ');
}

export async function runPortForward(opts: PortForwardOptions): Promise<number> {
  const ui = new Ui({ json: false });
  const pidFile = portForwardPidFile(opts.root);

  // --stop reads only the PID file, so it works even while the settings are broken.
  if (opts.stop) {
    const r = await stopRunning(pidFile);
    ui.info(r.pid === undefined ? 'port-forward: none running' : `port-forward: stopped (${describeStop(r.pid, r.forced)})`);
    return ExitCode.ok;
  }

  // Only kubectl runs here: the plain helm name spares unpacking the pinned one.
  const sn = await openSession({ root: opts.root, flags: opts.flags, verbose: opts.verbose, helmBin: 'helm', ui });
  const s = sn.config.settings;

  const running = await runningInstance(pidFile);
  if (running !== undefined) {
    ui.info(`port-forward is already running (pid ${running}); stop it with: npx tsx scripts/port-forward.ts --stop`);
    return ExitCode.ok;
  }

  ui.info(`taskflow port-forward: context ${sn.context}, namespace ${sn.scope.namespace}, release ${sn.scope.release}`);
  const ports: Ports = forwardedPorts(sn.config);
  if (Object.keys(ports).length === 0) {
    throw new InputError(`no component of ${sn.config.app.file} declares a localPort, so there is nothing to forward`, 'Add localPort: N to the components you want on localhost.');
  }
  await ui.step('ports', async () => {
    const choices = await choosePorts(sn.exec, ports, opts.autoPort === true);
    for (const c of choices) ports[c.component] = c.port;
    const moved = choices.filter((c) => c.port !== c.wanted);
    const detail = choices.map((c) => (c.port === c.wanted ? `${c.component} ${c.port}` : `${c.component} ${c.port} (${c.wanted} is in use${c.holder ? ` by ${c.holder}` : ''})`)).join(', ');
    return { status: 'done', detail: `${detail}${moved.length ? '' : ' free'}` };
  });

  return opts.detach ? startInBackground(sn, ports, opts.passThrough) : superviseHere(sn, ports);
}

/** --detach: starts a copy of this command in the background with the chosen ports, and returns once it is ready. */
async function startInBackground(sn: Session, ports: Ports, passThrough: string[]): Promise<number> {
  const { ui, root } = sn;
  const pidFile = portForwardPidFile(root);
  const log = portForwardLogFile(root);
  const shownLog = relative(root, log);
  await ui.step('background supervisor', async () => {
    const from = existsSync(log) ? statSync(log).size : 0;
    const script = process.argv[1];
    if (!script) throw new UserError('cannot tell which script to run in the background', 'Run port-forward through its entry point: npx tsx scripts/port-forward.ts --detach');
    const child = sn.exec.start(
      process.execPath,
      [...process.execArgv, script, ...passThrough, ...Object.entries(ports).flatMap(([c, p]) => [`--${c}-port`, String(p)])],
      { detachTo: log },
    );
    const pid = child.pid;
    if (pid === undefined) throw (await child.exited).error ?? new UserError('could not start the background supervisor');
    // Only what this start wrote: the log keeps earlier runs.
    const fresh = () => (existsSync(log) ? readFileSync(log, 'utf8').slice(from) : '');
    const failure = (how: string) => {
      child.kill('SIGTERM');
      removePidFileOf(pidFile, pid);
      const text = fresh();
      const tail = text.trim().split('\n').slice(-6).join('\n');
      const err = /^✖ (.*)$/m.exec(text)?.[1];
      return new UserError(`the background port-forward ${how}${err ? `: ${err}` : ''}`, `Its output (${shownLog}):\n${tail}`);
    };
    await waitFor(
      () => {
        if (/^ready: /m.test(fresh())) return true;
        if (!child.running()) throw failure('stopped');
        return false;
      },
      // The copy has its own start-up deadline; this one only has to outlast it.
      { timeout: STARTUP_DEADLINE_MS + 10_000, interval: 200, describe: 'the background port-forward to be ready', onTimeout: () => failure('was not ready in time') },
    );
    return { status: 'done', detail: `pid ${pid}, tunnels healthy (${relative(root, pidFile)})` };
  });
  ui.info('');
  ui.info(`ready: ${urlsLine(ports)}`);
  ui.info(`  log: ${shownLog}   stop: npx tsx scripts/port-forward.ts --stop (cleanup stops it too)`);
  return ExitCode.ok;
}

/** The supervisor in this process, until Ctrl+C, a stop request (--stop, cleanup), SIGTERM/SIGHUP or an error it cannot retry. */
async function superviseHere(sn: Session, ports: Ports): Promise<number> {
  const { ui } = sn;
  const pidFile = portForwardPidFile(sn.root);
  const tunnels = planTunnels(sn.scope.release, sn.config.app, ports);
  const supervisor = new Supervisor({ exec: sn.exec, context: sn.context, namespace: sn.scope.namespace, tunnels, log: (l) => ui.info(l), verbose: sn.verbose });
  let stopReason: string | undefined;
  let stop: (why: string) => void = () => {};
  const stopped = new Promise<void>((resolve) => {
    stop = (why) => {
      if (stopReason) return;
      stopReason = why;
      void supervisor.stop().then(resolve);
    };
  });
  process.once('SIGTERM', stop);
  process.once('SIGHUP', stop);
  // Foreground and detached alike (a detached copy records itself, not the command that started it),
  // so a second run, --stop or cleanup can find it and ask it to stop: on Windows no signal would
  // let it stop its kubectl children first.
  const control = await serveControl(pidFile, () => stop('stop requested'));
  // Ctrl+C ends the process through runMain's handler; this hook makes sure no kubectl outlives it.
  const onExit = () => {
    supervisor.killNow();
    removePidFileOf(pidFile, process.pid);
  };
  process.on('exit', onExit);

  try {
    try {
      await supervisor.start((t, detail, ms) => {
        ui.info(`✔ ${t.component} — localhost:${t.localPort} → service/${t.service}:${t.remotePort}, ${detail} (${formatMs(ms)})`);
      });
    } catch (err) {
      if (stopReason) return ExitCode.ok;
      throw err;
    }
    ui.info('');
    ui.info(`ready: ${urlsLine(ports)}`);
    ui.info(`Ctrl+C stops ${tunnels.length > 1 ? 'them all' : 'it'}; a tunnel whose pod is replaced reconnects by itself.`);
    await Promise.race([supervisor.done(), stopped]);
    ui.info(`port-forward: stopped${stopReason ? ` (${stopReason})` : ''} after ${supervisor.reconnects} reconnect${supervisor.reconnects === 1 ? '' : 's'}`);
    return ExitCode.ok;
  } finally {
    await supervisor.stop();
    // Still answering while the kubectl children stop: a run started meanwhile says "already running"
    // instead of finding their ports taken.
    control.close();
    removePidFileOf(pidFile, process.pid);
    process.removeListener('exit', onExit);
  }
}
