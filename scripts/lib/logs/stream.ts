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
import type { Kubectl, LogPod, LogsRequest, PodEvent } from '../tools/kubectl.ts';
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

/** Each container's log once, or with --follow every pod's as they come and go until Ctrl+C. */
export async function runLogs(sn: Session, opts: LogsOptions): Promise<number> {
  const rd = readingFor(sn, opts);
  const pods = await rd.kubectl.logPods(rd.context, rd.ns, rd.selector);
  const first = targetsOf(pods, rd.release, rd.components);
  if (first.length === 0) throw await noPods(sn, rd.components);
  if (!opts.follow || opts.previous) return printEach(rd, first);
  return new PodFollower(rd, pods).follow();
}

/** What every kubectl call of one run shares, fixed once the flags are read: where, which pods, how lines come out. */
type Reading = {
  kubectl: Kubectl;
  context: string;
  ns: string;
  release: string;
  selector: string;
  components: string[];
  request: (target: Target, follow: boolean) => LogsRequest;
  print: (target: Target, line: string) => void;
  note: (target: Target, text: string) => void;
};

/** Checks the flags against the app (bad input stops the run before kubectl is asked anything) and fixes how to read. */
function readingFor(sn: Session, opts: LogsOptions): Reading {
  const s = sn.config.settings;
  const release = s.TASKFLOW_RELEASE;
  const declared = Object.keys(sn.config.app.components);
  const components = parseComponents(opts.components, declared);
  const since = parseSince(opts.since);
  const fmt = { json: opts.json, color: opts.color && !opts.json, declared };
  return {
    kubectl: sn.tools.kubectl,
    context: sn.context,
    ns: s.TASKFLOW_NAMESPACE,
    release,
    selector: `app.kubernetes.io/instance=${release}`,
    components,
    request: (target, follow) => ({ pod: target.pod, container: target.container, follow, since, previous: opts.previous }),
    print: (target, line) => process.stdout.write(`${formatLine(target, line, fmt)}\n`),
    note: (target, text) => process.stderr.write(`${target.label}: ${text}\n`),
  };
}

/** Runs one kubectl logs to its end, printing its lines; resolves with what its error meant, if it failed. */
async function readLog(rd: Reading, target: Target, follow: boolean, started: (child: LongRunning) => void): Promise<LogError | undefined> {
  let last = '';
  const child = rd.kubectl.startLogs(rd.context, rd.ns, rd.request(target, follow), (line, stream) => {
    if (stream === 'stdout') rd.print(target, line);
    else if (line.trim()) last = line.trim();
  });
  started(child);
  const exit = await child.exited;
  if (exit.error) throw exit.error;
  if (exit.code === 0 || exit.signal) return undefined;
  return last ? classifyLogError(last) : { kind: 'error', note: `kubectl logs exited ${exit.code} without saying why` };
}

/** Without --follow: each container's log in turn, so a pod's lines stay together; 1 when one could not be read. */
async function printEach(rd: Reading, targets: Target[]): Promise<number> {
  let failed = 0;
  for (const target of targets) {
    const err = await readLog(rd, target, false, () => {});
    if (!err || err.kind === 'gone') continue;
    rd.note(target, err.note);
    if (err.kind === 'error') failed++;
  }
  return failed === 0 ? 0 : 1;
}

/**
 * With --follow: one kubectl logs -f per running container, started and stopped as the pod watch
 * (or, where it is not allowed, the pod list) reports pods coming and going, until interrupted.
 */
class PodFollower {
  private readonly active = new Map<string, LongRunning>();
  private readonly finished = new Set<string>();
  private readonly known: Map<string, LogPod>;
  /** A problem is said once, when it starts, and its end once, when things work again. */
  private problem: { from: 'list' | 'watch'; text: string } | undefined;

  /** Starts from the pods runLogs listed, so the first followers need no second read. */
  constructor(
    private readonly rd: Reading,
    pods: LogPod[],
  ) {
    this.known = new Map(pods.map((p) => [p.name, p]));
  }

  /** Watches the pods again each time a watch ends, with a back-off when they keep ending quickly. */
  async follow(): Promise<never> {
    this.reconcile();
    let quickEnds = 0;
    for (;;) {
      const startedAt = Date.now();
      const end = await this.watchOnce();
      if (end.kind === 'forbidden') {
        process.stderr.write(`✖ kubectl get pods --watch is not allowed: ${end.message}\n  → reading the pod list every ${POLL_MS / 1000}s instead\n`);
        this.problem = undefined;
        return pollPods((retry) => this.resync(retry));
      }
      quickEnds = end.kind === 'closed' && Date.now() - startedAt >= HEALTHY_WATCH_MS ? 0 : quickEnds + 1;
      const pause = watchRestartDelay(quickEnds);
      if (end.kind === 'failed') this.warn('watch', `the pod watch stopped: ${end.message}; starting it again${pause ? ` in ${pause / 1000}s` : ''}`);
      await delay(pause);
      // Pods deleted while no watch ran never get their DELETED event: the list read drops them.
      await this.resync(`trying again in ${watchRestartDelay(quickEnds + 1) / 1000}s`);
    }
  }

  /** Runs one pod watch to its end, applying each event as it comes, and says how it ended. */
  private async watchOnce(): Promise<WatchEnd> {
    const { kubectl, context, ns, selector } = this.rd;
    let lastStderr = '';
    let apiError = false;
    const watch: LongRunning = kubectl.startPodWatch(
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
        this.recovered('watch', 'pods are watched again');
        applyPodEvent(this.known, e);
        this.reconcile();
      },
      (line) => {
        if (line.trim()) lastStderr = line.trim();
      },
    );
    const exit = await watch.exited;
    if (exit.error) throw exit.error;
    if (interruptRequested()) throw new InterruptedError();
    return apiError ? { kind: 'closed' } : classifyWatchEnd(exit, lastStderr);
  }

  /** Starts a follower for each running container that has none, stops those whose pod is gone. */
  private reconcile(): void {
    const listing = [...this.known.values()];
    const plan = planFollow(listing, targetsOf(listing, this.rd.release, this.rd.components), new Set(this.active.keys()), this.finished);
    for (const key of plan.stop) this.active.get(key)?.kill('SIGTERM');
    for (const target of plan.start) this.followContainer(target);
  }

  /** Follows one container's log until it ends, then looks again at what should run. */
  private followContainer(target: Target): void {
    const key = keyOf(target);
    void readLog(this.rd, target, true, (child) => this.active.set(key, child)).then(
      (err) => {
        this.active.delete(key);
        // A container that has not started yet is tried again once it runs; anything else ends this instance.
        if (err?.kind !== 'not-started') this.finished.add(instanceOf(target));
        if (err?.kind === 'error') this.rd.note(target, err.note);
        // The pod's next instance may be known already (a StatefulSet pod recreated under the same
        // name arrives while this follower stops), and no event will come again to start it. A
        // container kubectl calls not started is left a moment, so a stale state cannot spin.
        if (err?.kind === 'not-started') setTimeout(() => this.reconcile(), RETRY_NOT_STARTED_MS);
        else this.reconcile();
      },
      (err: unknown) => {
        this.active.delete(key);
        this.finished.add(instanceOf(target));
        if (!(err instanceof InterruptedError)) this.rd.note(target, (err as Error).message);
      },
    );
  }

  /** Says a problem when it first shows, not on every retry. */
  private warn(from: 'list' | 'watch', text: string): void {
    if (this.problem?.text !== text) process.stderr.write(`✖ ${text}\n`);
    this.problem = { from, text };
  }

  /** A list read clears a list problem; a watch event shows everything works again. */
  private recovered(from: 'list' | 'watch', text: string): void {
    if (!this.problem || (from === 'list' && this.problem.from !== 'list')) return;
    process.stderr.write(`${text}\n`);
    this.problem = undefined;
  }

  /** Replaces what is known with a fresh list; when it cannot be read, says so (once) and keeps what is known. */
  private async resync(retry: string): Promise<void> {
    try {
      const listing = await this.rd.kubectl.logPods(this.rd.context, this.rd.ns, this.rd.selector);
      this.recovered('list', 'pods can be read again');
      this.known.clear();
      for (const p of listing) this.known.set(p.name, p);
      this.reconcile();
    } catch (err) {
      if (err instanceof InterruptedError || !(err instanceof UserError)) throw err;
      this.warn('list', `${err.message.split('\n')[0]}; ${retry}`);
    }
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
