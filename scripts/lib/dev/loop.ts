// `dev`: the inner loop. Setup once, then watch each component's build inputs; once the edits
// pause, rebuild only the components whose content tag moved, deliver them as setup does, and
// roll them with one helm upgrade carrying exactly the values setup would pass, so Helm stays the
// source of truth and the next setup has nothing to do. A port-forward stays up through it all.
import { relative } from 'node:path';
import { runCleanup } from '../cleanup/teardown.ts';
import { forwardedPorts } from '../app/components.ts';
import { ExitCode, InputError, UserError } from '../core/errors.ts';
import { interruptChildren, resumeAfterInterrupt } from '../core/exec.ts';
import { buildImages, deliverBuilt } from '../images/deliver.ts';
import { contentTag, imageSources, type ImageRefs, type ImageSource } from '../images/tag.ts';
import { deliveryVerb, observeImages } from '../images/plan.ts';
import { portForwardPidFile, runningInstance } from '../core/pidfile.ts';
import { choosePorts } from '../tunnels/ports.ts';
import { applyRelease } from '../release/apply.ts';
import { observeRelease } from '../release/decide.ts';
import { mask } from '../core/secrets.ts';
import type { Session } from '../core/session.ts';
import { setUp } from '../setup/steps.ts';
import { Supervisor } from '../tunnels/supervisor.ts';
import { planTunnels, type Tunnel } from '../tunnels/tunnels.ts';
import { formatMs, Ui } from '../core/ui.ts';
import { waitFor } from '../core/wait.ts';
import { ContextWatcher, ignoreFileShown, type Edit } from './watch.ts';

export type DevOptions = {
  /** Quiet time after the last edit before a cycle starts. */
  debounceMs: number;
  /** Tunnels for the components with a local port, unless false; autoPort takes the next free port for a busy one. */
  portForward: false | { autoPort: boolean };
  /** On Ctrl+C, uninstall the release (cleanup --keep-data) instead of leaving the app running. */
  cleanupOnExit: boolean;
  /** helm's wait, for setup and for each rollout. */
  timeout: string;
  /** One JSON object per cycle on stdout. */
  json: boolean;
  /** Poll the content tags every this many ms instead of watching for edits. */
  pollMs?: number;
  /** Aborted by the first Ctrl+C (or SIGTERM): stop watching and wind down. */
  signal: AbortSignal;
};

/** The stage of a cycle; the one it failed in, when it failed. */
export type CycleStage = 'build' | 'deliver' | 'rollout' | 'ready';

/** One cycle, as --json prints it. Stages not reached have no time. */
export type CycleResult = {
  ok: boolean;
  /** Each component the cycle rolls: its new tag, the one serving before, whether it had to be built and delivered. */
  components: { component: string; tag: string; previous: string; built: boolean; delivered: boolean }[];
  buildMs?: number;
  deliverMs?: number;
  rolloutMs?: number;
  /** From the first edit of the cycle to the app answering again. */
  readyMs?: number;
  failed?: CycleStage;
  error?: string;
  hint?: string;
};

/** How long the rolled component may take to answer through its tunnel once helm says ready. */
const TUNNEL_READY_MS = 60_000;

/**
 * The cycle's line: `✔ web 3f2a9c0d1e2b: build 4.1s, load 2.0s, rollout 6.3s (ready 12.4s after
 * save)`, or what failed and what keeps serving. `verb` is how images reach the cluster (none on
 * Docker Desktop, which shares Docker's images).
 */
export function formatCycle(r: CycleResult, verb: 'load' | 'push' | undefined): string {
  const names = r.components.map((c) => `${c.component} ${c.tag}`).join(', ');
  const parts: string[] = [];
  if (r.buildMs !== undefined) parts.push(r.components.some((c) => c.built) ? `build ${formatMs(r.buildMs)}` : 'image found, no build');
  if (r.deliverMs !== undefined && verb && r.components.some((c) => c.delivered)) parts.push(`${verb} ${formatMs(r.deliverMs)}`);
  if (r.rolloutMs !== undefined) parts.push(`rollout ${formatMs(r.rolloutMs)}`);
  if (r.ok) return `✔ ${names}: ${parts.join(', ')} (ready ${formatMs(r.readyMs ?? 0)} after save)`;
  const stage = r.failed === 'deliver' ? (verb ?? 'delivery') : r.failed;
  const serving = r.failed === 'ready' ? 'rolled out, but not answering yet' : `${r.components.map((c) => `${c.component} ${c.previous}`).join(', ')} keep${r.components.length === 1 ? 's' : ''} serving`;
  return `✖ ${names}: ${[...parts, `${stage} failed`].join(', ')}; ${serving}`;
}

/** Where the tunnels stand before setup: ours to start, someone else's, or none. */
type TunnelPlan = { start: Record<string, number> } | { skip: string };

/** Checks the local ports before anything is built, so a busy one stops dev at once (exit 2), as port-forward does. */
async function planPorts(sn: Session, autoPort: boolean): Promise<TunnelPlan> {
  const wanted = forwardedPorts(sn.config);
  if (Object.keys(wanted).length === 0) return { skip: 'no component declares a localPort' };
  const running = await runningInstance(portForwardPidFile(sn.root));
  if (running !== undefined) return { skip: `one is already running (pid ${running}); dev uses it` };
  try {
    const choices = await choosePorts(sn.exec, wanted, autoPort);
    return { start: Object.fromEntries(choices.map((c) => [c.component, c.port])) };
  } catch (err) {
    if (err instanceof InputError) throw new InputError(err.message, `${err.hint} Or run dev with --no-port-forward.`);
    throw err;
  }
}

/** GET on a tunnel's health path: true on 200. */
async function answers(t: Tunnel): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${t.localPort}${t.healthPath}`, { signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

/** Setup once, the tunnels, then a cycle per pause in the edits until Ctrl+C, which ends every run (130). */
export async function runDev(sn: Session, opts: DevOptions): Promise<number> {
  const tunnelPlan: TunnelPlan = opts.portForward ? await planPorts(sn, opts.portForward.autoPort) : { skip: '--no-port-forward' };
  const run = new DevRun(sn, opts);
  let setup: Setup;
  try {
    setup = await setUp(sn, { skipBuild: false, timeout: opts.timeout, yes: false });
  } catch (err) {
    if (run.stopping) return run.shutDown();
    throw err;
  }
  if (run.stopping) return run.shutDown();
  const verb = deliveryVerb(sn, setup.route);
  await run.startTunnels(tunnelPlan);
  if (run.stopping) return run.shutDown();
  const edits = new EditLoop(sn, opts, setup, verb, run);
  edits.start();
  await run.stopped;
  edits.stopTimer();
  return run.shutDown();
}

/** What setup hands the loop: the images it runs, the route they take, what each rollout passes to helm. */
type Setup = Awaited<ReturnType<typeof setUp>>;

/**
 * What one dev run holds from start to end. The first Ctrl+C closes the watcher and the tunnels at
 * once and interrupts a running helm or docker; shutDown then waits for the cycle in flight.
 */
class DevRun {
  stopping = false;
  watcher: ContextWatcher | undefined;
  supervisor: Supervisor | undefined;
  /** The tunnels up now: a rolled component is waited for through its own. */
  tunnels: Tunnel[] = [];
  /** The cycle running now, if one is. */
  inFlight: Promise<void> | undefined;
  /** Aborted by the first Ctrl+C, so a cycle waiting for a tunnel gives up at once. */
  readonly stop = new AbortController();
  readonly stopped: Promise<void>;
  private readonly childrenStopped: Promise<void>;

  /** Listens for Ctrl+C from the start, so a stop during setup is seen too. */
  constructor(
    private readonly sn: Session,
    private readonly opts: DevOptions,
  ) {
    this.stopped = new Promise<void>((resolve) => {
      const onStop = () => {
        this.stopping = true;
        this.watcher?.close();
        this.supervisor?.killNow();
        this.stop.abort();
        resolve();
      };
      if (opts.signal.aborted) onStop();
      else opts.signal.addEventListener('abort', onStop, { once: true });
    });
    // A helm or docker still running gets the signal too (helm then fails and rolls back its own
    // upgrade), and nothing new starts.
    this.childrenStopped = this.stopped.then(() => interruptChildren('SIGINT'));
  }

  /** Opens the planned tunnels in this process; one that fails is reported and watching goes on without it. */
  async startTunnels(plan: TunnelPlan): Promise<void> {
    const { sn } = this;
    const { ui } = sn;
    ui.info('');
    if ('skip' in plan) {
      ui.info(`↷ port-forward — skipped: ${plan.skip}`);
      return;
    }
    const planned = planTunnels(sn.scope.release, sn.config.app, plan.start);
    const supervisor = new Supervisor({ exec: sn.exec, context: sn.context, namespace: sn.scope.namespace, tunnels: planned, log: (l) => ui.info(l), verbose: sn.verbose });
    this.supervisor = supervisor;
    try {
      await supervisor.start((t, detail, ms) => ui.info(`✔ port-forward ${t.component} — localhost:${t.localPort} → service/${t.service}:${t.remotePort}, ${detail} (${formatMs(ms)})`));
      this.tunnels = planned;
      supervisor.done().catch((err: Error) => {
        if (this.stopping) return;
        this.tunnels = [];
        ui.info(`✖ port-forward stopped: ${err.message.split('\n')[0]}; watching goes on without it`);
      });
    } catch (err) {
      if (this.stopping) return; // the caller shuts down
      ui.info(`✖ port-forward — ${(err as Error).message.split('\n')[0]}; watching goes on without it (try: npx tsx scripts/port-forward.ts)`);
      await supervisor.stop();
      this.supervisor = undefined;
    }
  }

  /** Once stopped: leaves nothing running that dev started, and the release running or, with --cleanup-on-exit, removed. */
  async shutDown(): Promise<number> {
    const { sn, opts } = this;
    const { ui } = sn;
    await this.childrenStopped;
    await this.inFlight;
    await this.supervisor?.stop();
    if (opts.cleanupOnExit) {
      resumeAfterInterrupt();
      ui.info('');
      ui.info('--cleanup-on-exit: removing the release');
      // Its own Ui: the closing count is cleanup's steps, not setup's.
      const out = (line: string) => ui.info(line);
      await runCleanup({ ...sn, ui: new Ui({ json: false, out, spinner: false }) }, { keepData: true, stopCluster: false, purge: false, timeout: opts.timeout });
      ui.info('■ dev stopped; the release is removed (the database volume is kept)');
    } else {
      ui.info(`■ dev stopped; the app keeps running (make cleanup removes it)`);
    }
    return ExitCode.interrupted;
  }
}

/**
 * The watching after setup: edits wait for a quiet pause, then one cycle at a time rebuilds and rolls
 * the components whose content tag moved; edits that come during a cycle wait for the next one.
 */
class EditLoop {
  /** The images the release runs: what each cycle compares the content tags with. */
  private images: ImageRefs;
  private readonly sources: ImageSource[];
  /** Edits waiting for the quiet time to pass: component → when its first one came. */
  private pending = new Map<string, number>();
  /** Paths the .dockerignore excludes that changed since the last cycle, by component; --verbose shows them. */
  private readonly ignored = new Map<string, string[]>();
  private timer: NodeJS.Timeout | undefined;

  /** Starts from the images setup left running: only what moves after that is rolled. */
  constructor(
    private readonly sn: Session,
    private readonly opts: DevOptions,
    private readonly setup: Setup,
    private readonly verb: 'load' | 'push' | undefined,
    private readonly run: DevRun,
  ) {
    this.images = setup.images;
    this.sources = imageSources(sn.config);
  }

  /** Starts the watcher and says how it watches; anything edited while setup ran counts as an edit now. */
  start(): void {
    const { sn, opts, sources } = this;
    const { ui } = sn;
    const watcher = new ContextWatcher({ sources, onEdit: (e) => this.onEdit(e), pollMs: opts.pollMs, onFallback: (why) => ui.info(`⚠ watching: ${why}`) });
    this.run.watcher = watcher;
    const mode = watcher.start();
    const how = mode === 'polling' ? `polling the content tags every ${formatMs(opts.pollMs ?? 1000)}` : mode === 'native' ? 'recursive fs.watch' : 'fs.watch per directory';
    ui.info('');
    ui.info(`watching ${sources.map((src) => `${src.component} (${relative(sn.root, src.contextDir) || '.'})`).join(', ')} with ${how}; a pause of ${formatMs(opts.debounceMs)} after an edit starts a cycle`);
    ui.info(`Ctrl+C stops watching and leaves ${sn.config.settings.TASKFLOW_RELEASE} running${opts.cleanupOnExit ? ' (--cleanup-on-exit: then removes it)' : ''}.`);
    for (const src of sources) if (contentTag(src) !== this.images[src.component]?.tag) this.onEdit({ component: src.component, path: '(edited during setup)', ignored: false, at: Date.now() });
  }

  /** Once stopped, a quiet time still running must not start a cycle. */
  stopTimer(): void {
    if (this.timer) clearTimeout(this.timer);
  }

  /** Notes an edit and starts the quiet time again, so a burst of saves makes one cycle. */
  private onEdit(e: Edit): void {
    if (this.run.stopping) return;
    if (e.ignored) this.ignored.set(e.component, [...new Set([...(this.ignored.get(e.component) ?? []), e.path])]);
    else if (!this.pending.has(e.component)) this.pending.set(e.component, e.at);
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.fire(), this.opts.debounceMs);
  }

  /** When the quiet time is over: the waiting edits become one cycle, and the edits made during it the next. */
  private fire(): void {
    this.timer = undefined;
    if (this.run.stopping || this.run.inFlight) return; // a running cycle picks the waiting edits up when it ends
    if (this.sn.verbose) this.showIgnored();
    this.ignored.clear();
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    this.run.inFlight = this.cycle(batch).finally(() => {
      this.run.inFlight = undefined;
      if (this.pending.size && !this.timer) this.fire();
    });
  }

  /** With --verbose, an edit that started nothing says which ignore file left it out. */
  private showIgnored(): void {
    for (const [component, paths] of this.ignored) {
      const src = this.sources.find((x) => x.component === component);
      if (!this.pending.has(component) && src) this.sn.ui.info(`· ${component}: ${paths.slice(0, 3).join(', ')}${paths.length > 3 ? ` and ${paths.length - 3} more` : ''} changed, ignored by ${ignoreFileShown(this.sn.root, src)}`);
    }
  }

  /** One cycle: nothing when no content tag moved (a save that changed nothing), else roll the moved ones and report. */
  private async cycle(batch: Map<string, number>): Promise<void> {
    const { sn } = this;
    const savedAt = Math.min(...batch.values());
    const moved = this.sources.filter((src) => batch.has(src.component) && contentTag(src) !== this.images[src.component]?.tag);
    if (moved.length === 0) {
      if (sn.verbose) sn.ui.info(`· ${[...batch.keys()].join(', ')}: saved, but the content is unchanged`);
      return;
    }
    const result: CycleResult = { ok: false, components: [] };
    // What helm has is read while the images are looked up and built: nothing else changes the release meanwhile.
    const release = observeRelease(sn);
    release.catch(() => {}); // a failure surfaces in the rollout, if the cycle gets there
    try {
      await this.roll(moved.map((m) => m.component), release, savedAt, result);
    } catch (err) {
      if (this.run.stopping) return;
      recordFailure(result, err);
    }
    if (this.run.stopping) return;
    this.report(result);
  }

  /** Builds, delivers and rolls the components as setup would, then waits until they answer; each stage's time goes into result as it ends. */
  private async roll(components: string[], release: ReturnType<typeof observeRelease>, savedAt: number, result: CycleResult): Promise<void> {
    const { sn, setup } = this;
    const plans = await observeImages(sn, { skipBuild: false, clusterRunning: true, route: setup.route, only: components });
    // The tag the plan holds is the one built: the files may have moved again since the tags were compared.
    result.components = plans.map((p) => ({ component: p.src.component, tag: p.tag, previous: this.images[p.src.component]?.tag ?? 'none', built: p.verdict.action === 'build', delivered: p.verdict.action === 'deliver' || (p.verdict.action === 'build' && p.verdict.deliver) }));
    let t = Date.now();
    await buildImages(sn, plans, setup.route);
    result.buildMs = Date.now() - t;
    t = Date.now();
    await deliverBuilt(sn, plans, true, setup.route);
    result.deliverMs = Date.now() - t;
    t = Date.now();
    const next: ImageRefs = { ...this.images, ...Object.fromEntries(plans.map((p) => [p.src.component, { repository: p.repository, tag: p.tag }])) };
    // setup's own release step: the same values, the same wait, the same roll back on failure.
    await applyRelease(sn, { clusterRunning: true, images: next, access: setup.access, helm: setup.helm, timeout: this.opts.timeout, observed: release });
    this.images = next;
    result.rolloutMs = Date.now() - t;
    await this.untilAnswering(plans.map((p) => p.src.component));
    result.readyMs = Date.now() - savedAt;
    result.ok = true;
  }

  /** helm's ready is not the developer's: waits until each rolled component answers through its tunnel. */
  private async untilAnswering(rolled: string[]): Promise<void> {
    const { sn } = this;
    const through = this.run.tunnels.filter((tn) => rolled.includes(tn.component));
    for (const tn of through) {
      await waitFor(async () => (await answers(tn)) || undefined, {
        timeout: TUNNEL_READY_MS,
        interval: 250,
        signal: this.run.stop.signal,
        describe: `${tn.component} to answer through localhost:${tn.localPort}`,
        onTimeout: () => new UserError(`${tn.component} rolled out, but GET ${tn.healthPath} through localhost:${tn.localPort} did not answer 200 within ${formatMs(TUNNEL_READY_MS)}`, `Check the pods: kubectl --context ${sn.context} --namespace ${sn.scope.namespace} get pods`),
      });
    }
  }

  /** The cycle's line; on failure what went wrong and the hint, since the developer is watching this terminal. */
  private report(result: CycleResult): void {
    const { ui } = this.sn;
    ui.info(formatCycle(result, this.verb));
    if (!result.ok) {
      for (const line of (result.error ?? '').split('\n').slice(0, 30)) ui.info(`  ${line}`);
      if (result.hint) ui.info(`  → ${result.hint}`);
      ui.info('  watching for the next edit');
    }
    if (this.opts.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  }
}

/** The stage a cycle stopped in: the first whose time it has not recorded, as roll records each one as it ends. */
function stageOf(r: CycleResult): CycleStage {
  if (r.buildMs === undefined) return 'build';
  if (r.deliverMs === undefined) return 'deliver';
  if (r.rolloutMs === undefined) return 'rollout';
  return 'ready';
}

/** A failed cycle's stage and error, masked; an unexpected error keeps its stack for the bug report. */
function recordFailure(result: CycleResult, err: unknown): void {
  result.failed = stageOf(result);
  result.error = mask(err instanceof Error ? err.message : String(err));
  if (err instanceof UserError && err.hint) result.hint = mask(err.hint);
  if (!(err instanceof UserError)) result.error = mask(err instanceof Error ? (err.stack ?? err.message) : String(err));
}
