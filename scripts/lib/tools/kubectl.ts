// Typed wrapper of kubectl. Every call names its context explicitly, so nothing ever lands in
// whatever context happens to be current. JSON shapes are the Kubernetes API objects.
import { PrerequisiteError, UserError } from '../core/errors.ts';
import type { Exec, LongRunning } from '../core/exec.ts';
import { JsonStream } from '../core/json-stream.ts';
import { parseVersion, requireVersion, type Version } from './versions.ts';

export type NamespaceState = 'active' | 'terminating' | 'missing';

export type PodSummary = {
  name: string;
  phase: string;
  ready: boolean;
  restarts: number;
  /** Why a container is not running, e.g. "ImagePullBackOff", "CrashLoopBackOff". */
  waitingReasons: string[];
  images: string[];
  labels: Record<string, string>;
};

type PodJson = {
  metadata: { name: string; labels?: Record<string, string> };
  spec: { containers: { image: string }[] };
  status: {
    phase?: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: { restartCount?: number; state?: { waiting?: { reason?: string } } }[];
  };
};

/** One container of a pod, as far as reading its logs goes. */
export type LogContainer = {
  name: string;
  /** running: follow it; waiting before its first start: nothing to read yet. */
  state: 'running' | 'waiting' | 'terminated';
  /** Bumps when the kubelet starts the container again: a new instance, a new log. */
  restarts: number;
};

/** A pod of the release as `logs` sees it: its labels say which component it belongs to. */
export type LogPod = {
  name: string;
  /** Tells a recreated pod from its predecessor of the same name (a StatefulSet's pod-0). */
  uid: string;
  labels: Record<string, string>;
  containers: LogContainer[];
};

type LogPodJson = {
  metadata: { name: string; uid?: string; labels?: Record<string, string> };
  spec: { containers: { name: string }[] };
  status?: { containerStatuses?: { name: string; restartCount?: number; state?: { running?: object; waiting?: object; terminated?: object } }[] };
};

/** A pod object (from a list or a watch event) as `logs` sees it. */
function toLogPod(p: LogPodJson): LogPod {
  return {
    name: p.metadata.name,
    uid: p.metadata.uid ?? p.metadata.name,
    labels: p.metadata.labels ?? {},
    containers: p.spec.containers.map((c) => {
      const st = p.status?.containerStatuses?.find((x) => x.name === c.name);
      const state = st?.state?.running ? 'running' : st?.state?.terminated ? 'terminated' : 'waiting';
      return { name: c.name, state, restarts: st?.restartCount ?? 0 };
    }),
  };
}

/**
 * One change to the pods a watch covers. ERROR is the API's own end of a watch (a Status object,
 * e.g. 410 Gone when its resourceVersion is too old); the watch must be started again.
 */
export type PodEvent = { type: 'ADDED' | 'MODIFIED' | 'DELETED'; pod: LogPod } | { type: 'ERROR'; message: string };

/**
 * One value printed by `kubectl get pods --watch --output-watch-events --output json`:
 * {"type":"ADDED","object":{…Pod}} (cli-runtime pkg/printers/json.go prints a metav1.WatchEvent
 * with json.Marshal, one per line). BOOKMARK events, which kubectl does not ask for, are skipped.
 */
export function parseWatchEvent(value: unknown): PodEvent | undefined {
  const e = value as { type?: string; object?: LogPodJson & { kind?: string; message?: string } };
  if (e.type === 'ERROR') return { type: 'ERROR', message: e.object?.message ?? 'the watch ended with an error' };
  if (e.type !== 'ADDED' && e.type !== 'MODIFIED' && e.type !== 'DELETED') return undefined;
  if (!e.object?.metadata?.name || !Array.isArray(e.object.spec?.containers)) throw new UserError(`kubectl's pod watch printed an event without a pod: ${JSON.stringify(value).slice(0, 200)}`, 'Check which kubectl is first on PATH (kubectl version --client); the toolkit needs kubectl 1.27 or newer.');
  return { type: e.type, pod: toLogPod(e.object) };
}

/** The exact argv of the pod watch: the current pods first as ADDED events, then every change. */
export function podWatchArgs(context: string, ns: string, selector: string): string[] {
  return ['--context', context, '--namespace', ns, 'get', 'pods', '--selector', selector, '--watch', '--output-watch-events', '--output', 'json'];
}

/**
 * A failed kubectl call's last stderr line as the error `logs` reports: a missing context or a
 * cluster that does not answer is a missing prerequisite (exit 3), anything else a failure.
 */
export function kubectlReadError(context: string, what: string, why: string): UserError {
  if (/context .* does not exist|context was not found/i.test(why)) return new PrerequisiteError(`kube context ${context} does not exist`, 'Run setup first, or name an existing context with --context.');
  if (/connection to the server .* was refused|Unable to connect to the server|no such host/i.test(why)) return new PrerequisiteError(`the cluster of context ${context} is not answering: ${why}`, 'Start it with setup, then rerun.');
  return new UserError(`${what} failed: ${why}`, `Check the cluster answers: kubectl --context ${context} get --raw /readyz`);
}

/** What `kubectl logs` is asked for: one container of one pod. */
export type LogsRequest = { pod: string; container: string; follow: boolean; since?: string; previous: boolean };

/** The exact kubectl argv for one container's logs; every call names its context and namespace. */
export function logsArgs(context: string, ns: string, r: LogsRequest): string[] {
  return [
    '--context', context, '--namespace', ns, 'logs', r.pod, '--container', r.container,
    ...(r.follow ? ['--follow'] : []),
    ...(r.since ? [`--since=${r.since}`] : []),
    ...(r.previous ? ['--previous'] : []),
  ];
}

/** An API object as `kubectl get -o json` returns it; callers read the fields they need. */
export type KubeObject = {
  kind: string;
  metadata: { name: string; uid?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  subsets?: { addresses?: unknown[] }[];
};

export class Kubectl {
  constructor(
    private readonly exec: Exec,
    readonly bin = 'kubectl',
  ) {}

  async clientVersion(): Promise<Version> {
    const out = await this.exec.run(this.bin, ['version', '--client', '--output', 'json'], { nothrow: true });
    let raw = out.stdout;
    try {
      raw = (JSON.parse(out.stdout) as { clientVersion?: { gitVersion?: string } }).clientVersion?.gitVersion ?? raw;
    } catch {
      /* reported below as unreadable */
    }
    return requireVersion('kubectl', parseVersion(raw), raw);
  }

  async contexts(): Promise<string[]> {
    const out = await this.exec.run(this.bin, ['config', 'get-contexts', '--output', 'name'], { nothrow: true });
    return out.stdout.split('\n').map((l) => l.trim()).filter(Boolean);
  }

  async currentContext(): Promise<string | undefined> {
    const out = await this.exec.run(this.bin, ['config', 'current-context'], { nothrow: true });
    return out.exitCode === 0 ? out.stdout.trim() || undefined : undefined;
  }

  /** The API server answers /readyz with "ok" when the cluster can take work. */
  async ready(context: string): Promise<boolean> {
    const out = await this.exec.run(this.bin, ['--context', context, 'get', '--raw', '/readyz'], { nothrow: true, timeoutMs: 20_000 });
    return out.exitCode === 0 && out.stdout.trim() === 'ok';
  }

  async namespace(context: string, ns: string): Promise<NamespaceState> {
    const out = await this.exec.run(this.bin, ['--context', context, 'get', 'namespace', ns, '--output', 'json'], { nothrow: true });
    if (out.exitCode !== 0) {
      if (/NotFound|not found/i.test(out.stderr)) return 'missing';
      throw new UserError(`kubectl get namespace ${ns} failed: ${out.stderr.trim()}`, `Check the cluster answers: kubectl --context ${context} get --raw /readyz`);
    }
    const phase = (JSON.parse(out.stdout) as { status?: { phase?: string } }).status?.phase;
    return phase === 'Terminating' ? 'terminating' : 'active';
  }

  async createNamespace(context: string, ns: string): Promise<void> {
    await this.exec.run(this.bin, ['--context', context, 'create', 'namespace', ns], { mutating: true });
  }

  /** Asks for deletion without waiting; the caller polls namespace() so it can show progress. */
  async deleteNamespace(context: string, ns: string): Promise<void> {
    await this.exec.run(this.bin, ['--context', context, 'delete', 'namespace', ns, '--wait=false', '--ignore-not-found'], { mutating: true });
  }

  async pods(context: string, ns: string, selector: string): Promise<PodSummary[]> {
    const out = await this.exec.run(this.bin, ['--context', context, '--namespace', ns, 'get', 'pods', '--selector', selector, '--output', 'json'], { nothrow: true });
    if (out.exitCode !== 0) return [];
    const items = (JSON.parse(out.stdout) as { items: PodJson[] }).items;
    return items.map((p) => ({
      name: p.metadata.name,
      phase: p.status.phase ?? 'Unknown',
      ready: (p.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
      restarts: (p.status.containerStatuses ?? []).reduce((n, c) => n + (c.restartCount ?? 0), 0),
      waitingReasons: (p.status.containerStatuses ?? []).map((c) => c.state?.waiting?.reason).filter((r): r is string => Boolean(r)),
      images: p.spec.containers.map((c) => c.image),
      labels: p.metadata.labels ?? {},
    }));
  }

  /**
   * The pods a selector matches, with their containers' states, for `logs`. Unlike pods(), a
   * failure is not an empty answer (see kubectlReadError).
   */
  async logPods(context: string, ns: string, selector: string): Promise<LogPod[]> {
    const out = await this.exec.run(this.bin, ['--context', context, '--namespace', ns, 'get', 'pods', '--selector', selector, '--output', 'json'], { nothrow: true });
    if (out.exitCode !== 0) throw kubectlReadError(context, 'kubectl get pods', out.stderr.trim().split('\n').at(-1) ?? '');
    return (JSON.parse(out.stdout) as { items: LogPodJson[] }).items.map(toLogPod);
  }

  /**
   * Starts the long-running pod watch (podWatchArgs). Its stdout is parsed as it comes, whole
   * events reaching onEvent; its stderr lines reach onStderr. Output that is not a watch event
   * stops the watch (the caller sees it end and starts another) and reaches onStderr as its reason.
   */
  startPodWatch(context: string, ns: string, selector: string, onEvent: (e: PodEvent) => void, onStderr: (line: string) => void): LongRunning {
    const stream = new JsonStream();
    let broken = false;
    const child: LongRunning = this.exec.start(this.bin, podWatchArgs(context, ns, selector), {
      onLine: (line, from) => {
        if (from === 'stderr') return onStderr(line);
        if (broken) return;
        try {
          for (const value of stream.push(`${line}\n`)) {
            const e = parseWatchEvent(value);
            if (e) onEvent(e);
          }
        } catch (err) {
          broken = true;
          onStderr((err as Error).message);
          child.kill('SIGTERM');
        }
      },
    });
    return child;
  }

  /** Starts `kubectl logs` for one container; lines reach onLine as they come, the handle says when it ends. */
  startLogs(context: string, ns: string, r: LogsRequest, onLine: (line: string, stream: 'stdout' | 'stderr') => void): LongRunning {
    return this.exec.start(this.bin, logsArgs(context, ns, r), { onLine });
  }

  /** The events of one object, oldest first, as "Reason: message" lines. */
  async events(context: string, ns: string, name: string): Promise<string[]> {
    const out = await this.exec.run(this.bin, ['--context', context, '--namespace', ns, 'get', 'events', '--field-selector', `involvedObject.name=${name}`, '--output', 'json'], { nothrow: true });
    if (out.exitCode !== 0) return [];
    const items = (JSON.parse(out.stdout) as { items: { reason?: string; message?: string; type?: string }[] }).items;
    return items.map((e) => `${e.type ?? 'Normal'} ${e.reason ?? ''}: ${(e.message ?? '').trim()}`);
  }

  /**
   * The last lines each container of a pod logged; for a container waiting to restart (a crash
   * loop) the kubelet serves the instance that crashed. Empty when there is none: a container
   * that never started makes kubectl fail ("is waiting to start: …"), which is no log line.
   * `previous`: the instance before the last restart (--previous), for a container running again.
   */
  async logs(context: string, ns: string, pod: string, tail = 20, previous = false): Promise<string> {
    const out = await this.exec.run(this.bin, ['--context', context, '--namespace', ns, 'logs', pod, '--all-containers', ...(previous ? ['--previous'] : []), '--tail', String(tail)], { nothrow: true });
    return out.exitCode === 0 ? out.stdout.trim() : '';
  }

  /** Desired and ready replicas of a Deployment, or undefined when it does not exist. */
  async deployment(context: string, ns: string, name: string): Promise<{ replicas: number; ready: number } | undefined> {
    const out = await this.exec.run(this.bin, ['--context', context, '--namespace', ns, 'get', 'deployment', name, '--output', 'json'], { nothrow: true });
    if (out.exitCode !== 0) return undefined;
    const d = JSON.parse(out.stdout) as { spec?: { replicas?: number }; status?: { readyReplicas?: number } };
    return { replicas: d.spec?.replicas ?? 0, ready: d.status?.readyReplicas ?? 0 };
  }

  /** Number of ready addresses behind a Service. */
  async endpointCount(context: string, ns: string, service: string): Promise<number> {
    const out = await this.exec.run(this.bin, ['--context', context, '--namespace', ns, 'get', 'endpoints', service, '--output', 'json'], { nothrow: true });
    if (out.exitCode !== 0) return 0;
    const ep = JSON.parse(out.stdout) as { subsets?: { addresses?: unknown[] }[] };
    return (ep.subsets ?? []).reduce((n, s) => n + (s.addresses?.length ?? 0), 0);
  }

  /** True when the resource metrics API (metrics-server) is registered and available. */
  async metricsApiAvailable(context: string): Promise<boolean> {
    const out = await this.exec.run(this.bin, ['--context', context, 'get', 'apiservice', 'v1beta1.metrics.k8s.io', '--output', 'json'], { nothrow: true });
    if (out.exitCode !== 0) return false;
    const conds = (JSON.parse(out.stdout) as { status?: { conditions?: { type: string; status: string }[] } }).status?.conditions ?? [];
    return conds.some((c) => c.type === 'Available' && c.status === 'True');
  }

  /** Every object of the release that validate inspects, in one call. */
  async releaseObjects(context: string, ns: string, release: string): Promise<KubeObject[]> {
    const out = await this.exec.run(this.bin, [
      '--context', context, '--namespace', ns, 'get',
      'deployments,statefulsets,services,endpoints,persistentvolumeclaims,ingresses,pods',
      '--selector', `app.kubernetes.io/instance=${release}`, '--output', 'json',
    ]);
    return (JSON.parse(out.stdout) as { items: KubeObject[] }).items;
  }

  async deletePod(context: string, ns: string, pod: string): Promise<void> {
    await this.exec.run(this.bin, ['--context', context, '--namespace', ns, 'delete', 'pod', pod, '--wait=false'], { mutating: true });
  }

  /** A Secret's data, decoded, or undefined when it does not exist. Callers must mask the values. */
  async secretData(context: string, ns: string, name: string): Promise<Record<string, string> | undefined> {
    const out = await this.exec.run(this.bin, ['--context', context, '--namespace', ns, 'get', 'secret', name, '--output', 'json'], { nothrow: true });
    if (out.exitCode !== 0) return undefined;
    const data = (JSON.parse(out.stdout) as { data?: Record<string, string> }).data ?? {};
    return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
  }

}
