// `logs`: every pod of the release in one stream, each line prefixed with its component and pod,
// following pods as rollouts and scaling replace them (one `kubectl logs --follow` per container).
//
// While following, pods are found by one long-running `kubectl get pods --watch
// --output-watch-events --output json`: it prints the current pods as ADDED events, then every
// change as it happens, so a new pod is followed as soon as the API server knows it, and nothing
// runs while nothing changes. The events tell a deleted pod from an updated one (plain `-o json`
// prints both as the bare object). The API server ends every watch after its request timeout
// (30–60 min) and a dropped connection ends it too; kubectl then exits 0 without a word, so the
// watch is started again, with a bounded back-off when it keeps ending quickly, after one list
// read that drops the pods deleted in between. Where RBAC allows listing pods but not watching
// them, `logs` says so and reads the list every 2 s instead.
import type { Session } from '../core/session.ts';
import { InputError, InterruptedError, UserError } from '../core/errors.ts';
import { interruptRequested, type LongRunning } from '../core/exec.ts';
import { serviceName } from '../core/names.ts';
import { closest } from '../core/suggest.ts';
import type { LogPod, LogsRequest, PodEvent } from '../tools/kubectl.ts';
import { delay } from '../core/wait.ts';

/** How often the pod list is read while following, when the watch is not allowed. */
export const POLL_MS = 2000;
/** How long a container kubectl says has not started is left before its log is asked for again. */
export const RETRY_NOT_STARTED_MS = 1000;
/** A watch that lived this long was healthy: when it ends, the next one starts at once. */
export const HEALTHY_WATCH_MS = 10_000;
/** The pauses before starting the watch again after quick ends in a row; the last one repeats. */
export const WATCH_BACKOFF_MS = [1000, 2000, 4000, 8000, 16_000, 30_000] as const;

export type LogsOptions = {
  /** Raw --component values (repeatable, each may be a comma list); checked against the app's components. */
  components: string[];
  since?: string;
  previous: boolean;
  follow: boolean;
  json: boolean;
  color: boolean;
};

// ── input ────────────────────────────────────────────────────────────────────────────────────

/** --component values → the declared components they name, or an InputError with a did-you-mean. */
export function parseComponents(raw: string[], declared: readonly string[]): string[] {
  const names = [...new Set(raw.flatMap((r) => r.split(',')).map((s) => s.trim()).filter(Boolean))];
  if (raw.length > 0 && names.length === 0) throw new InputError('--component is empty', `Name one of: ${declared.join(', ')}.`);
  for (const n of names) {
    if (declared.includes(n)) continue;
    const near = closest(n, declared);
    throw new InputError(`--component ${n} is not a component of this app`, `${near ? `Did you mean ${near}? ` : ''}The app declares: ${declared.join(', ')}.`);
  }
  return names;
}

/** --since as kubectl takes it (a Go duration); h, m and s are enough for logs, and 0 would mean "all". */
export function parseSince(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const ok = /^(\d+(\.\d+)?[hms])+$/.test(raw) && /[1-9]/.test(raw);
  if (!ok) throw new InputError(`--since ${JSON.stringify(raw)} is not a duration`, 'Use a value such as 10m, 90s or 1h30m.');
  return raw;
}

/** Colour only for a person at a terminal: not into a pipe or file, and never when NO_COLOR is set (no-color.org). */
export function useColor(isTTY: boolean | undefined, env: Record<string, string | undefined>): boolean {
  return Boolean(isTTY) && !env.NO_COLOR;
}

// ── what to print ────────────────────────────────────────────────────────────────────────────

/** One container of one pod whose log is read: what its lines are prefixed with. */
export type Target = { component: string; pod: string; uid: string; container: string; restarts: number; label: string };

/** The component a pod belongs to: the chart's app.kubernetes.io/component label, else its `app` label. */
export function componentOfPod(p: LogPod): string {
  return p.labels['app.kubernetes.io/component'] ?? p.labels.app ?? '';
}

/** The part of a pod name that tells replicas apart: what follows the workload's name ("taskflow-web-"). */
export function shortPod(release: string, component: string, pod: string): string {
  const prefix = `${serviceName(release, component)}-`;
  return pod.startsWith(prefix) && pod.length > prefix.length ? pod.slice(prefix.length) : pod;
}

/** Every container of the pods of the chosen components (all of them when none is chosen). */
export function targetsOf(pods: LogPod[], release: string, components: readonly string[]): Target[] {
  const out: Target[] = [];
  for (const p of pods) {
    const component = componentOfPod(p);
    if (components.length > 0 && !components.includes(component)) continue;
    for (const c of p.containers) {
      const short = shortPod(release, component, p.name);
      out.push({ component, pod: p.name, uid: p.uid, container: c.name, restarts: c.restarts, label: `${component} ${short}${p.containers.length > 1 ? `/${c.name}` : ''}` });
    }
  }
  return out;
}

const COLORS = [36, 35, 33, 32, 34, 31, 96, 95, 93, 92];

/** A colour per component, stable from run to run: declared order first, others after. */
export function colorOf(component: string, declared: readonly string[]): number {
  const i = declared.indexOf(component);
  if (i >= 0) return COLORS[i % COLORS.length] as number;
  let h = 0;
  for (const ch of component) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return COLORS[(declared.length + (h % COLORS.length)) % COLORS.length] as number;
}

/** One output line: "<component> <pod> <line>" (coloured prefix on a terminal), or a JSON object for --json. */
export function formatLine(t: Target, line: string, o: { json: boolean; color: boolean; declared: readonly string[] }): string {
  if (o.json) return JSON.stringify({ component: t.component, pod: t.pod, line });
  return o.color ? `\x1b[${colorOf(t.component, o.declared)}m${t.label}\x1b[0m ${line}` : `${t.label} ${line}`;
}

/** What kubectl's error about one container's log means for the stream. */
export type LogError = { kind: 'gone' } | { kind: 'not-started'; note: string } | { kind: 'no-previous'; note: string } | { kind: 'error'; note: string };

export function classifyLogError(line: string): LogError {
  if (/NotFound\).*pods? ".*" not found/.test(line)) return { kind: 'gone' };
  const waiting = /is waiting to start(?::| -) (.*)$/.exec(line);
  if (waiting) return { kind: 'not-started', note: `not started yet (${waiting[1]})` };
  if (/previous terminated container .* not found/.test(line)) return { kind: 'no-previous', note: 'no previous container: it has not restarted' };
  return { kind: 'error', note: line };
}

// ── following ────────────────────────────────────────────────────────────────────────────────

/** Which followers to start and stop, given the pods read now. Pure. */
export type FollowPlan = { start: Target[]; stop: string[] };

export const keyOf = (t: { pod: string; container: string }) => `${t.pod}/${t.container}`;
/** One run of one container: a restart, or a pod recreated under the same name, is a new one. */
export const instanceOf = (t: Target) => `${t.uid}/${t.container}#${t.restarts}`;

/**
 * A running container without a follower gets one, unless this instance of it was followed to its
 * end already (kubectl logs -f ends when the container stops; the next restart is a new instance).
 * A follower whose pod is gone from the list is stopped; one whose pod is still terminating keeps
 * reading, so the pod's last lines are not lost.
 */
export function planFollow(pods: LogPod[], targets: Target[], active: ReadonlySet<string>, finished: ReadonlySet<string>): FollowPlan {
  const running = new Set(pods.flatMap((p) => p.containers.filter((c) => c.state === 'running').map((c) => `${p.name}/${c.name}`)));
  const start = targets.filter((t) => running.has(keyOf(t)) && !active.has(keyOf(t)) && !finished.has(instanceOf(t)));
  const listed = new Set(pods.map((p) => p.name));
  const stop = [...active].filter((k) => !listed.has(k.slice(0, k.lastIndexOf('/'))));
  return { start, stop };
}

// ── watching the pods ────────────────────────────────────────────────────────────────────────

/**
 * Applies one watch event to the pods known, by name. A DELETED event for an older pod of the same
 * name (a StatefulSet's pod recreated) leaves the newer one alone.
 */
export function applyPodEvent(pods: Map<string, LogPod>, e: Exclude<PodEvent, { type: 'ERROR' }>): void {
  if (e.type !== 'DELETED') pods.set(e.pod.name, e.pod);
  else if (pods.get(e.pod.name)?.uid === e.pod.uid) pods.delete(e.pod.name);
}

/** How a watch ended, and so what comes next. */
export type WatchEnd =
  /** Exit 0: the API server ended it (its request timeout) or the connection dropped; kubectl says nothing. */
  | { kind: 'closed' }
  /** RBAC lets this user list pods but not watch them: read the list instead. */
  | { kind: 'forbidden'; message: string }
  /** Anything else: start it again after a pause, and say why once. */
  | { kind: 'failed'; message: string };

export function classifyWatchEnd(exit: { code: number | null; signal: NodeJS.Signals | null }, lastStderr: string): WatchEnd {
  if (exit.code === 0) return { kind: 'closed' };
  if (/\(Forbidden\)/.test(lastStderr)) return { kind: 'forbidden', message: lastStderr };
  return { kind: 'failed', message: lastStderr || (exit.signal ? `kubectl was stopped by ${exit.signal}` : `kubectl exited ${exit.code} without saying why`) };
}

/** The pause before the next watch: none after a healthy one, then 1 s, 2 s, … up to 30 s. */
export function watchRestartDelay(quickEnds: number): number {
  if (quickEnds <= 0) return 0;
  return WATCH_BACKOFF_MS[Math.min(quickEnds, WATCH_BACKOFF_MS.length) - 1] as number;
}

// ── the command ──────────────────────────────────────────────────────────────────────────────

export async function runLogs(sn: Session, opts: LogsOptions): Promise<number> {
  const { tools: t, context } = sn;
  const s = sn.config.settings;
  const release = s.TASKFLOW_RELEASE;
  const ns = s.TASKFLOW_NAMESPACE;
  const declared = Object.keys(sn.config.app.components);
  const components = parseComponents(opts.components, declared);
  const since = parseSince(opts.since);
  const selector = `app.kubernetes.io/instance=${release}`;
  const fmt = { json: opts.json, color: opts.color && !opts.json, declared };
  const print = (target: Target, line: string) => process.stdout.write(`${formatLine(target, line, fmt)}\n`);
  const note = (target: Target, text: string) => process.stderr.write(`${target.label}: ${text}\n`);

  const pods = await t.kubectl.logPods(context, ns, selector);
  const first = targetsOf(pods, release, components);
  if (first.length === 0) throw await noPods(sn, components);

  const request = (target: Target, follow: boolean): LogsRequest => ({ pod: target.pod, container: target.container, follow, since, previous: opts.previous });

  /** Runs one kubectl logs to its end, printing its lines; resolves with what its error meant, if it failed. */
  const read = async (target: Target, follow: boolean, started: (child: LongRunning) => void): Promise<LogError | undefined> => {
    let last = '';
    const child = t.kubectl.startLogs(context, ns, request(target, follow), (line, stream) => {
      if (stream === 'stdout') print(target, line);
      else if (line.trim()) last = line.trim();
    });
    started(child);
    const exit = await child.exited;
    if (exit.error) throw exit.error;
    if (exit.code === 0 || exit.signal) return undefined;
    return last ? classifyLogError(last) : { kind: 'error', note: `kubectl logs exited ${exit.code} without saying why` };
  };

  if (!opts.follow || opts.previous) {
    // Each container's log in turn, so a pod's lines stay together.
    let failed = 0;
    for (const target of first) {
      const err = await read(target, false, () => {});
      if (!err || err.kind === 'gone') continue;
      note(target, err.note);
      if (err.kind === 'error') failed++;
    }
    return failed === 0 ? 0 : 1;
  }

  const active = new Map<string, LongRunning>();
  const finished = new Set<string>();
  const known = new Map(pods.map((p) => [p.name, p]));
  /** Starts a follower for each running container that has none, stops those whose pod is gone. */
  const reconcile = (): void => {
    const listing = [...known.values()];
    const plan = planFollow(listing, targetsOf(listing, release, components), new Set(active.keys()), finished);
    for (const key of plan.stop) active.get(key)?.kill('SIGTERM');
    for (const target of plan.start) {
      const key = keyOf(target);
      void read(target, true, (child) => active.set(key, child)).then(
        (err) => {
          active.delete(key);
          // A container that has not started yet is tried again once it runs; anything else ends this instance.
          if (err?.kind !== 'not-started') finished.add(instanceOf(target));
          if (err?.kind === 'error') note(target, err.note);
          // The pod's next instance may be known already (a StatefulSet pod recreated under the same
          // name arrives while this follower stops), and no event will come again to start it. A
          // container kubectl calls not started is left a moment, so a stale state cannot spin.
          if (err?.kind === 'not-started') setTimeout(reconcile, RETRY_NOT_STARTED_MS);
          else reconcile();
        },
        (err: unknown) => {
          active.delete(key);
          finished.add(instanceOf(target));
          if (!(err instanceof InterruptedError)) note(target, (err as Error).message);
        },
      );
    }
  };
  // A problem is said once, when it starts, and its end once, when things work again.
  let problem: { from: 'list' | 'watch'; text: string } | undefined;
  const warn = (from: 'list' | 'watch', text: string) => {
    if (problem?.text !== text) process.stderr.write(`✖ ${text}\n`);
    problem = { from, text };
  };
  /** A list read clears a list problem; a watch event shows everything works again. */
  const recovered = (from: 'list' | 'watch', text: string) => {
    if (!problem || (from === 'list' && problem.from !== 'list')) return;
    process.stderr.write(`${text}\n`);
    problem = undefined;
  };
  /** Replaces what is known with a fresh list; when it cannot be read, says so (once) and keeps what is known. */
  const resync = async (retry: string): Promise<void> => {
    try {
      const listing = await t.kubectl.logPods(context, ns, selector);
      recovered('list', 'pods can be read again');
      known.clear();
      for (const p of listing) known.set(p.name, p);
      reconcile();
    } catch (err) {
      if (err instanceof InterruptedError || !(err instanceof UserError)) throw err;
      warn('list', `${err.message.split('\n')[0]}; ${retry}`);
    }
  };

  reconcile();
  let quickEnds = 0;
  for (;;) {
    const startedAt = Date.now();
    let lastStderr = '';
    let apiError = false;
    const watch: LongRunning = t.kubectl.startPodWatch(
      context,
      ns,
      selector,
      (e) => {
        if (e.type === 'ERROR') {
          // The API ended the watch with a Status (e.g. 410 Gone): start another, as after a timeout.
          apiError = true;
          watch.kill('SIGTERM');
          return;
        }
        recovered('watch', 'pods are watched again');
        applyPodEvent(known, e);
        reconcile();
      },
      (line) => {
        if (line.trim()) lastStderr = line.trim();
      },
    );
    const exit = await watch.exited;
    if (exit.error) throw exit.error;
    if (interruptRequested()) throw new InterruptedError();
    const end: WatchEnd = apiError ? { kind: 'closed' } : classifyWatchEnd(exit, lastStderr);
    if (end.kind === 'forbidden') {
      process.stderr.write(`✖ kubectl get pods --watch is not allowed: ${end.message}\n  → reading the pod list every ${POLL_MS / 1000}s instead\n`);
      problem = undefined;
      return pollPods(resync);
    }
    quickEnds = end.kind === 'closed' && Date.now() - startedAt >= HEALTHY_WATCH_MS ? 0 : quickEnds + 1;
    const pause = watchRestartDelay(quickEnds);
    if (end.kind === 'failed') warn('watch', `the pod watch stopped: ${end.message}; starting it again${pause ? ` in ${pause / 1000}s` : ''}`);
    await delay(pause);
    // Pods deleted while no watch ran never get their DELETED event: the list read drops them.
    await resync(`trying again in ${watchRestartDelay(quickEnds + 1) / 1000}s`);
  }
}

/** The fallback where pods may be listed but not watched: read the list every POLL_MS, for ever. */
async function pollPods(resync: (retry: string) => Promise<void>): Promise<never> {
  for (;;) {
    await delay(POLL_MS);
    await resync(`trying again every ${POLL_MS / 1000}s`);
  }
}

/** The exit-3 error for a release with nothing to read: not installed, or no pods (of the chosen components). */
async function noPods(sn: Session, components: string[]): Promise<UserError> {
  const { release, namespace } = sn.scope;
  const info = await sn.tools.release.status(sn.scope).catch(() => undefined);
  if (!info) return new UserError(`release ${release} is not installed in namespace ${namespace} (context ${sn.context})`, 'Run setup first.', 3);
  const which = components.length ? `of ${components.join(', ')} ` : '';
  return new UserError(`release ${release} has no pods ${which}in namespace ${namespace}`, `See what is there: kubectl --context ${sn.context} --namespace ${namespace} get pods -l app.kubernetes.io/instance=${release}`, 3);
}
