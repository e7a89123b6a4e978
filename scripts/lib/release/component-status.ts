// One declared component's state as the release's objects show it (replicas, restarts, the reason
// a container waits, endpoints, image against the one the source gives): what status reports and
// what rollback says runs after it returned to a revision.
import { componentOf, serviceName } from '../core/names.ts';
import type { KubeObject } from '../tools/kubectl.ts';

export type ComponentStatus = {
  name: string;
  /** False when the release has no Deployment for it (switched off, or not installed). */
  deployed: boolean;
  desired: number;
  ready: number;
  restarts: number;
  /** The most recent reason a container of the component waits, e.g. CrashLoopBackOff. */
  waiting?: string;
  /** Ready addresses behind its Service; null for a component without a port (a worker). */
  endpoints: number | null;
  /** What its Deployment runs ("<app>-<component>:<tag>"). */
  image?: string;
  /** What setup would build from the current source; undefined where setup builds none. */
  expectedImage?: string;
  /** The running image differs from the one the source gives: rerun setup. */
  stale: boolean;
};

type ContainerStatus = { name?: string; restartCount?: number; state?: { waiting?: { reason?: string } }; lastState?: { terminated?: { finishedAt?: string } } };
type PodSpecLite = { containers?: { name: string; image: string }[] };

/** Pure: one component's state from the release's objects (kubectl get … -o json). */
export function componentStatus(name: string, hasPort: boolean, release: string, objects: KubeObject[], expectedImage: string | undefined): ComponentStatus {
  const fullname = serviceName(release, name);
  const deployment = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === fullname);
  const template = ((deployment?.spec?.template as { spec?: PodSpecLite } | undefined)?.spec?.containers ?? []) as { name: string; image: string }[];
  const image = (template.find((c) => c.name === name) ?? template[0])?.image;
  const pods = objects.filter((o) => o.kind === 'Pod' && componentOf(o) === name && o.status?.phase !== 'Succeeded');
  let restarts = 0;
  let waiting: string | undefined;
  let newest = '';
  for (const p of pods) {
    for (const c of (p.status?.containerStatuses ?? []) as ContainerStatus[]) {
      restarts += c.restartCount ?? 0;
      const reason = c.state?.waiting?.reason;
      // The container that restarted last says best what is happening now.
      const when = c.lastState?.terminated?.finishedAt ?? '';
      if (reason && (waiting === undefined || when > newest)) {
        waiting = reason;
        newest = when;
      }
    }
  }
  const ep = objects.find((o) => o.kind === 'Endpoints' && o.metadata.name === fullname);
  const endpoints = hasPort ? (ep?.subsets ?? []).reduce((n, s) => n + (s.addresses?.length ?? 0), 0) : null;
  return {
    name,
    deployed: deployment !== undefined,
    // Without spec.replicas (the HPA owns the count) Kubernetes runs what status says, default 1.
    desired: Number(deployment?.spec?.replicas ?? deployment?.status?.replicas ?? (deployment ? 1 : 0)),
    ready: Number(deployment?.status?.readyReplicas ?? 0),
    restarts,
    ...(waiting ? { waiting } : {}),
    endpoints,
    ...(image ? { image } : {}),
    ...(expectedImage ? { expectedImage } : {}),
    stale: image !== undefined && expectedImage !== undefined && image !== expectedImage,
  };
}
