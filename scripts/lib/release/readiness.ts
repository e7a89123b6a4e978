// "Ready" is a claim: the release's workloads are read, and what keeps them from being ready is
// diagnosed the way the kubelet reports it (waiting reasons, restart loops, events, last log lines).
import { UserError } from '../core/errors.ts';
import type { Session } from '../core/session.ts';
import type { KubeObject, Kubectl } from '../tools/kubectl.ts';

/** For a failed release: each unready pod with its waiting reasons, events and last log lines. */
export async function diagnose(kubectl: Kubectl, context: string, ns: string, release: string): Promise<string> {
  const pods = await kubectl.pods(context, ns, `app.kubernetes.io/instance=${release}`);
  const bad = pods.filter((p) => !p.ready && p.phase !== 'Succeeded');
  if (bad.length === 0) return pods.length ? 'every pod of the release is ready now' : 'no pods of the release were found';
  const parts: string[] = [];
  for (const p of bad.slice(0, 5)) {
    const events = await kubectl.events(context, ns, p.name);
    // While a crashed container waits to restart, kubectl logs serves the instance that crashed;
    // once it runs again, that instance is only in --previous, and the new one has barely started.
    const restarted = p.restarts > 0 && p.waitingReasons.length === 0;
    const previous = restarted ? await kubectl.logs(context, ns, p.name, 20, true) : '';
    const logs = await kubectl.logs(context, ns, p.name, 20);
    parts.push(
      [
        `pod ${p.name}: ${p.phase}${p.waitingReasons.length ? ` (${p.waitingReasons.join(', ')})` : ''}, ${p.restarts} restarts`,
        ...(events.length ? ['  events:', ...events.slice(-8).map((e) => `    ${e}`)] : []),
        ...(previous ? ['  last log lines before its last restart:', ...previous.split('\n').slice(-20).map((l) => `    ${l}`)] : []),
        ...(logs ? ['  last log lines:', ...logs.split('\n').slice(-20).map((l) => `    ${l}`)] : []),
      ].join('\n'),
    );
  }
  return parts.join('\n');
}

/** Waiting reasons that mean a container will not become ready by itself. */
const FAILING = /CrashLoopBackOff|ImagePullBackOff|ErrImagePull|ErrImageNeverPull|CreateContainerConfigError|CreateContainerError|InvalidImageName|RunContainerError/;

/** Restarts above this count as a restart loop even between back-offs. */
export const RESTART_LOOP_THRESHOLD = 3;

/**
 * How long a container must run for its restarts to count as history: the kubelet resets a
 * container's restart back-off once it "has executed for 10 minutes without any problems"
 * (kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#restart-policy, "Container restarts").
 */
export const BACKOFF_RESET_MS = 10 * 60_000;

/** The fields of a core/v1 ContainerStatus the restart and readiness checks read. */
export type ContainerStatusLite = {
  name: string;
  ready?: boolean;
  restartCount?: number;
  state?: { waiting?: { reason?: string } };
  lastState?: { terminated?: { finishedAt?: string } };
};

/**
 * Pure: the container is restarting in a loop: more restarts than the threshold, and either it is
 * not ready now or its last instance ended within the back-off reset window before `now`. The
 * count never goes down, so a container that restarted a few times at first start (waiting for
 * its database) and has run since is not looping.
 */
export function restartingInLoop(c: ContainerStatusLite, now: number): boolean {
  if ((c.restartCount ?? 0) <= RESTART_LOOP_THRESHOLD) return false;
  if (c.ready !== true) return true;
  const finished = Date.parse(c.lastState?.terminated?.finishedAt ?? '');
  return !Number.isNaN(finished) && now - finished < BACKOFF_RESET_MS;
}

/**
 * Pure: what keeps the release's workloads from being ready, one line each: a Deployment or
 * StatefulSet with fewer ready replicas than desired, a container waiting in a failure state or
 * restarting in a loop (as of `now`). Empty when everything is ready.
 */
export function notReady(objects: KubeObject[], now: number): string[] {
  const out: string[] = [];
  for (const o of objects) {
    if (o.kind !== 'Deployment' && o.kind !== 'StatefulSet') continue;
    const want = Number(o.spec?.replicas ?? 1);
    const ready = Number(o.status?.readyReplicas ?? 0);
    if (ready < want) out.push(`${o.kind}/${o.metadata.name}: ${ready}/${want} replicas ready`);
  }
  for (const p of objects.filter((x) => x.kind === 'Pod' && x.status?.phase !== 'Succeeded')) {
    for (const c of (p.status?.containerStatuses ?? []) as ContainerStatusLite[]) {
      const reason = c.state?.waiting?.reason ?? '';
      const restarts = c.restartCount ?? 0;
      if (FAILING.test(reason) || restartingInLoop(c, now)) out.push(`Pod/${p.metadata.name}: ${reason || 'restarting'}${restarts ? `, ${restarts} restarts` : ''}`);
    }
  }
  return out;
}

/**
 * "Ready" is a claim: the workloads are read, and when they are not ready the command fails with
 * the diagnosis (each unready pod's reason, events and last log lines) instead of saying so.
 */
export async function requireReady(sn: Session, observed?: Promise<KubeObject[]>): Promise<string> {
  const { kubectl } = sn.tools;
  const { release, namespace, context } = sn.scope;
  const objects = await (observed ?? kubectl.releaseObjects(context, namespace, release));
  const problems = notReady(objects, Date.now());
  if (problems.length === 0) {
    const pods = objects.filter((o) => o.kind === 'Pod' && o.status?.phase !== 'Succeeded').length;
    return `${pods} pod${pods === 1 ? '' : 's'} ready`;
  }
  const why = await diagnose(kubectl, context, namespace, release);
  throw new UserError(
    `release ${release} is deployed, but the app is not ready:\n${problems.map((p) => `  ${p}`).join('\n')}\n${why}`,
    `Fix the cause above and rerun. Watch it with: kubectl --context ${context} -n ${namespace} get pods -l app.kubernetes.io/instance=${release}`,
  );
}
