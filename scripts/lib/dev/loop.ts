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
import { contentTag, imageSources, type ImageRefs } from '../images/tag.ts';
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

export async function runDev(sn: Session, opts: DevOptions): Promise<number> {
  const { ui } = sn;
  const s = sn.config.settings;
  const tunnelPlan: TunnelPlan = opts.portForward ? await planPorts(sn, opts.portForward.autoPort) : { skip: '--no-port-forward' };

  let stopping = false;
  let watcher: ContextWatcher | undefined;
  let supervisor: Supervisor | undefined;
  let tunnels: Tunnel[] = [];
  const stop = new AbortController();
  const stopped = new Promise<void>((resolve) => {
    const onStop = () => {
      stopping = true;
      watcher?.close();
      supervisor?.killNow();
      stop.abort();
      resolve();
    };
    if (opts.signal.aborted) onStop();
    else opts.signal.addEventListener('abort', onStop, { once: true });
  });
  // A helm or docker still running gets the signal too (helm then fails and rolls back its own
  // upgrade), and nothing new starts.
  const childrenStopped = stopped.then(() => interruptChildren('SIGINT'));
  let inFlight: Promise<void> | undefined;

  const shutDown = async (): Promise<number> => {
    await childrenStopped;
    await inFlight;
    await supervisor?.stop();
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
  };

  let setup: Awaited<ReturnType<typeof setUp>>;
  try {
    setup = await setUp(sn, { skipBuild: false, timeout: opts.timeout, yes: false });
  } catch (err) {
    if (stopping) return shutDown();
    throw err;
  }
  if (stopping) return shutDown();
  /** The images the release runs: what each cycle compares the content tags with. */
  let images: ImageRefs = setup.images;
  const verb = deliveryVerb(sn, setup.route);

  // ── port-forward, in this process ────────────────────────────────────────────────────────────
  ui.info('');
  if ('skip' in tunnelPlan) ui.info(`↷ port-forward — skipped: ${tunnelPlan.skip}`);
  else {
    const planned = planTunnels(sn.scope.release, sn.config.app, tunnelPlan.start);
    supervisor = new Supervisor({ exec: sn.exec, context: sn.context, namespace: sn.scope.namespace, tunnels: planned, log: (l) => ui.info(l), verbose: sn.verbose });
    try {
      await supervisor.start((t, detail, ms) => ui.info(`✔ port-forward ${t.component} — localhost:${t.localPort} → service/${t.service}:${t.remotePort}, ${detail} (${formatMs(ms)})`));
      tunnels = planned;
      supervisor.done().catch((err: Error) => {
        if (stopping) return;
        tunnels = [];
        ui.info(`✖ port-forward stopped: ${err.message.split('\n')[0]}; watching goes on without it`);
      });
    } catch (err) {
      if (stopping) return shutDown();
      ui.info(`✖ port-forward — ${(err as Error).message.split('\n')[0]}; watching goes on without it (try: npx tsx scripts/port-forward.ts)`);
      await supervisor.stop();
      supervisor = undefined;
    }
  }
  if (stopping) return shutDown();

  // ── the loop ────────────────────────────────────────────────────────────────────────────────
  const sources = imageSources(sn.config);
  /** Edits waiting for the quiet time to pass: component → when its first one came. */
  let pending = new Map<string, number>();
  const ignored = new Map<string, string[]>();
  let timer: NodeJS.Timeout | undefined;

  const cycle = async (batch: Map<string, number>): Promise<void> => {
    const savedAt = Math.min(...batch.values());
    const moved = sources.filter((src) => batch.has(src.component) && contentTag(src) !== images[src.component]?.tag);
    if (moved.length === 0) {
      if (sn.verbose) ui.info(`· ${[...batch.keys()].join(', ')}: saved, but the content is unchanged`);
      return;
    }
    const result: CycleResult = { ok: false, components: [] };
    let stage: CycleStage = 'build';
    // What helm has is read while the images are looked up and built: nothing else changes the release meanwhile.
    const release = observeRelease(sn);
    release.catch(() => {}); // a failure surfaces in the rollout, if the cycle gets there
    try {
      const plans = await observeImages(sn, { skipBuild: false, clusterRunning: true, route: setup.route, only: moved.map((m) => m.component) });
      // The tag the plan holds is the one built: the files may have moved again since the check above.
      result.components = plans.map((p) => ({ component: p.src.component, tag: p.tag, previous: images[p.src.component]?.tag ?? 'none', built: p.verdict.action === 'build', delivered: p.verdict.action === 'deliver' || (p.verdict.action === 'build' && p.verdict.deliver) }));
      let t = Date.now();
      await buildImages(sn, plans, setup.route);
      result.buildMs = Date.now() - t;
      stage = 'deliver';
      t = Date.now();
      await deliverBuilt(sn, plans, true, setup.route);
      result.deliverMs = Date.now() - t;
      stage = 'rollout';
      t = Date.now();
      const next: ImageRefs = { ...images, ...Object.fromEntries(plans.map((p) => [p.src.component, { repository: p.repository, tag: p.tag }])) };
      // setup's own release step: the same values, the same wait, the same roll back on failure.
      await applyRelease(sn, { clusterRunning: true, images: next, access: setup.access, helm: setup.helm, timeout: opts.timeout, observed: release });
      images = next;
      result.rolloutMs = Date.now() - t;
      stage = 'ready';
      const through = tunnels.filter((tn) => plans.some((p) => p.src.component === tn.component));
      for (const tn of through) {
        await waitFor(async () => (await answers(tn)) || undefined, {
          timeout: TUNNEL_READY_MS,
          interval: 250,
          signal: stop.signal,
          describe: `${tn.component} to answer through localhost:${tn.localPort}`,
          onTimeout: () => new UserError(`${tn.component} rolled out, but GET ${tn.healthPath} through localhost:${tn.localPort} did not answer 200 within ${formatMs(TUNNEL_READY_MS)}`, `Check the pods: kubectl --context ${sn.context} --namespace ${sn.scope.namespace} get pods`),
        });
      }
      result.readyMs = Date.now() - savedAt;
      result.ok = true;
    } catch (err) {
      if (stopping) return;
      result.failed = stage;
      result.error = mask(err instanceof Error ? err.message : String(err));
      if (err instanceof UserError && err.hint) result.hint = mask(err.hint);
      if (!(err instanceof UserError)) result.error = mask(err instanceof Error ? (err.stack ?? err.message) : String(err));
    }
    if (stopping) return;
    ui.info(formatCycle(result, verb));
    if (!result.ok) {
      for (const line of (result.error ?? '').split('\n').slice(0, 30)) ui.info(`  ${line}`);
      if (result.hint) ui.info(`  → ${result.hint}`);
      ui.info('  watching for the next edit');
    }
    if (opts.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  };

  const fire = () => {
    timer = undefined;
    if (stopping || inFlight) return; // a running cycle picks the waiting edits up when it ends
    if (sn.verbose) {
      for (const [component, paths] of ignored) {
        const src = sources.find((x) => x.component === component);
        if (!pending.has(component) && src) ui.info(`· ${component}: ${paths.slice(0, 3).join(', ')}${paths.length > 3 ? ` and ${paths.length - 3} more` : ''} changed, ignored by ${ignoreFileShown(sn.root, src)}`);
      }
    }
    ignored.clear();
    if (pending.size === 0) return;
    const batch = pending;
    pending = new Map();
    inFlight = cycle(batch).finally(() => {
      inFlight = undefined;
      if (pending.size && !timer) fire();
    });
  };

  const onEdit = (e: Edit) => {
    if (stopping) return;
    if (e.ignored) ignored.set(e.component, [...new Set([...(ignored.get(e.component) ?? []), e.path])]);
    else if (!pending.has(e.component)) pending.set(e.component, e.at);
    if (timer) clearTimeout(timer);
    timer = setTimeout(fire, opts.debounceMs);
  };

  watcher = new ContextWatcher({ sources, onEdit, pollMs: opts.pollMs, onFallback: (why) => ui.info(`⚠ watching: ${why}`) });
  const mode = watcher.start();
  const how = mode === 'polling' ? `polling the content tags every ${formatMs(opts.pollMs ?? 1000)}` : mode === 'native' ? 'recursive fs.watch' : 'fs.watch per directory';
  ui.info('');
  ui.info(`watching ${sources.map((src) => `${src.component} (${relative(sn.root, src.contextDir) || '.'})`).join(', ')} with ${how}; a pause of ${formatMs(opts.debounceMs)} after an edit starts a cycle`);
  ui.info(`Ctrl+C stops watching and leaves ${s.TASKFLOW_RELEASE} running${opts.cleanupOnExit ? ' (--cleanup-on-exit: then removes it)' : ''}.`);
  // Anything edited while setup ran counts as an edit now.
  for (const src of sources) if (contentTag(src) !== images[src.component]?.tag) onEdit({ component: src.component, path: '(edited during setup)', ignored: false, at: Date.now() });

  await stopped;
  if (timer) clearTimeout(timer);
  return shutDown();
}
