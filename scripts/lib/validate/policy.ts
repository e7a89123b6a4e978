// Policy checks on rendered Kubernetes objects: Pod Security Standard "restricted", probes,
// requests/limits, no secrets in plain config, and references that must line up (selectors,
// Service ports, Ingress backends). Pure functions: objects in, findings out.

import { SECRET_NAME_PATTERN } from '../app/chart-files.ts';

// Rendered manifests are plain parsed YAML; these are the few fields the checks read.
export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
};

type Probe = Record<string, unknown>;
type Container = {
  name: string;
  ports?: { name?: string; containerPort: number }[];
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  resources?: { requests?: Record<string, unknown>; limits?: Record<string, unknown> };
  securityContext?: {
    allowPrivilegeEscalation?: boolean;
    readOnlyRootFilesystem?: boolean;
    runAsNonRoot?: boolean;
    runAsUser?: number;
    privileged?: boolean;
    capabilities?: { drop?: string[]; add?: string[] };
    seccompProfile?: { type?: string };
  };
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
};
type PodSpec = {
  containers: Container[];
  initContainers?: Container[];
  securityContext?: {
    runAsNonRoot?: boolean;
    runAsUser?: number;
    seccompProfile?: { type?: string };
  };
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  volumes?: { name: string; hostPath?: unknown }[];
  restartPolicy?: string;
};
export type PodTemplate = { labels: Record<string, string>; spec: PodSpec };

export type Finding = { check: PolicyCheck; object: string; message: string };
export type PolicyCheck =
  | 'pod security (restricted)'
  | 'probes'
  | 'requests and limits'
  | 'no secrets in plain config'
  | 'selectors match pod labels'
  | 'services target container ports'
  | 'ingress backends exist';

export const policyChecks: PolicyCheck[] = [
  'pod security (restricted)',
  'probes',
  'requests and limits',
  'no secrets in plain config',
  'selectors match pod labels',
  'services target container ports',
  'ingress backends exist',
];

/** Names that look like secrets: the chart refuses the same ones in <component>.env, so the pattern is the chart's. */
const SECRETISH = new RegExp(SECRET_NAME_PATTERN, 'i');

export function looksLikeSecret(name: string): boolean {
  return SECRETISH.test(name);
}
/** A value that carries credentials even under an innocent name, e.g. postgresql://user:pw@host. */
const CREDENTIAL_URL = /^[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:[^/\s@]+@/i;

export function ref(obj: K8sObject): string {
  return `${obj.kind}/${obj.metadata.name}`;
}

/** The pod template of a workload (or the spec of a bare Pod), if the object has one. */
export function podTemplateOf(obj: K8sObject): PodTemplate | undefined {
  const spec = obj.spec as Record<string, unknown> | undefined;
  if (!spec) return undefined;
  if (obj.kind === 'Pod') return { labels: obj.metadata.labels ?? {}, spec: spec as unknown as PodSpec };
  const template = spec.template as { metadata?: { labels?: Record<string, string> }; spec?: PodSpec } | undefined;
  if (['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job'].includes(obj.kind) && template?.spec) {
    return { labels: template.metadata?.labels ?? {}, spec: template.spec };
  }
  return undefined;
}

function allContainers(spec: PodSpec): Container[] {
  return [...(spec.initContainers ?? []), ...spec.containers];
}

/** PSS "restricted" (https://kubernetes.io/docs/concepts/security/pod-security-standards/) plus a read-only root filesystem. */
function checkPodSecurity(obj: K8sObject, pod: PodTemplate, out: Finding[]): void {
  const add = (message: string) => out.push({ check: 'pod security (restricted)', object: ref(obj), message });
  const psc = pod.spec.securityContext ?? {};
  if (pod.spec.hostNetwork || pod.spec.hostPID || pod.spec.hostIPC) add('uses a host namespace');
  for (const v of pod.spec.volumes ?? []) if (v.hostPath) add(`volume ${v.name} is a hostPath`);
  for (const c of allContainers(pod.spec)) {
    const sc = c.securityContext ?? {};
    const where = `container ${c.name}`;
    if (sc.privileged) add(`${where} is privileged`);
    if (sc.allowPrivilegeEscalation !== false) add(`${where} does not set allowPrivilegeEscalation: false`);
    const drop = sc.capabilities?.drop ?? [];
    if (!drop.includes('ALL')) add(`${where} does not drop ALL capabilities`);
    const added = (sc.capabilities?.add ?? []).filter((cap) => cap !== 'NET_BIND_SERVICE');
    if (added.length) add(`${where} adds capabilities ${added.join(', ')}`);
    if (sc.runAsNonRoot !== true && psc.runAsNonRoot !== true) add(`${where} does not set runAsNonRoot: true`);
    const uid = sc.runAsUser ?? psc.runAsUser;
    if (uid === undefined) add(`${where} has no numeric runAsUser (needed so runAsNonRoot can be checked for any image)`);
    else if (uid === 0) add(`${where} runs as user 0`);
    const seccomp = sc.seccompProfile?.type ?? psc.seccompProfile?.type;
    if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') add(`${where} has no RuntimeDefault or Localhost seccomp profile`);
    if (sc.readOnlyRootFilesystem !== true) add(`${where} does not set readOnlyRootFilesystem: true`);
  }
}

function checkProbes(obj: K8sObject, pod: PodTemplate, out: Finding[]): void {
  // Jobs and test pods run to completion; probes apply to long-running workloads.
  if (obj.kind !== 'Deployment' && obj.kind !== 'StatefulSet') return;
  for (const c of pod.spec.containers) {
    // A container that listens on no port (a queue worker) has no endpoint to take out of a
    // Service and nothing to ask over HTTP, so it is not held to having probes.
    if (!c.ports?.length) continue;
    const missing = (['readinessProbe', 'livenessProbe'] as const).filter((p) => !c[p]);
    if (missing.length) out.push({ check: 'probes', object: ref(obj), message: `container ${c.name} has no ${missing.join(' or ')}` });
  }
}

function checkResources(obj: K8sObject, pod: PodTemplate, out: Finding[]): void {
  for (const c of allContainers(pod.spec)) {
    const r = c.resources ?? {};
    const missing = [
      !r.requests?.cpu && 'requests.cpu',
      !r.requests?.memory && 'requests.memory',
      !r.limits?.memory && 'limits.memory',
    ].filter(Boolean);
    if (missing.length) out.push({ check: 'requests and limits', object: ref(obj), message: `container ${c.name} has no ${missing.join(', ')}` });
  }
}

function checkPlainConfig(obj: K8sObject, pod: PodTemplate | undefined, out: Finding[]): void {
  const add = (message: string) => out.push({ check: 'no secrets in plain config', object: ref(obj), message });
  if (obj.kind === 'ConfigMap') {
    for (const [k, v] of Object.entries(obj.data ?? {})) {
      if (SECRETISH.test(k)) add(`key ${k} looks like a secret; keep it in a Secret`);
      else if (CREDENTIAL_URL.test(String(v))) add(`key ${k} holds a URL with credentials; keep it in a Secret`);
    }
  }
  for (const c of pod ? allContainers(pod.spec) : []) {
    for (const e of c.env ?? []) {
      if (e.value === undefined || e.value === '') continue;
      if (SECRETISH.test(e.name)) add(`container ${c.name} sets ${e.name} as a literal value; use a secretKeyRef`);
      else if (CREDENTIAL_URL.test(e.value)) add(`container ${c.name} sets ${e.name} to a URL with credentials; use a secretKeyRef`);
    }
  }
}

function matches(selector: Record<string, string>, labels: Record<string, string>): boolean {
  const entries = Object.entries(selector);
  return entries.length > 0 && entries.every(([k, v]) => labels[k] === v);
}

/** Runs every policy check over a set of rendered objects. */
export function checkPolicies(objects: K8sObject[]): Finding[] {
  const out: Finding[] = [];
  const pods = objects
    .map((o) => ({ obj: o, pod: podTemplateOf(o) }))
    .filter((p): p is { obj: K8sObject; pod: PodTemplate } => p.pod !== undefined);

  for (const { obj, pod } of pods) {
    checkPodSecurity(obj, pod, out);
    checkProbes(obj, pod, out);
    checkResources(obj, pod, out);
  }
  for (const obj of objects) checkPlainConfig(obj, podTemplateOf(obj), out);

  // Workload selectors must select their own pod template, or the controller never owns its pods.
  for (const { obj, pod } of pods) {
    if (obj.kind === 'Pod' || obj.kind === 'Job') continue;
    const sel = (obj.spec?.selector as { matchLabels?: Record<string, string> } | undefined)?.matchLabels ?? {};
    if (!matches(sel, pod.labels)) {
      out.push({ check: 'selectors match pod labels', object: ref(obj), message: `selector ${JSON.stringify(sel)} does not match its pod labels` });
    }
  }
  // Other selectors (Services, PDBs, NetworkPolicies) must select at least one long-running pod template.
  const longRunning = pods.filter((p) => p.obj.kind !== 'Job' && p.obj.kind !== 'Pod');
  for (const obj of objects) {
    let sel: Record<string, string> | undefined;
    if (obj.kind === 'Service') sel = obj.spec?.selector as Record<string, string> | undefined;
    if (obj.kind === 'PodDisruptionBudget') sel = (obj.spec?.selector as { matchLabels?: Record<string, string> } | undefined)?.matchLabels;
    if (obj.kind === 'NetworkPolicy') sel = (obj.spec?.podSelector as { matchLabels?: Record<string, string> } | undefined)?.matchLabels;
    if (!sel) continue;
    if (!longRunning.some((p) => matches(sel, p.pod.labels))) {
      out.push({ check: 'selectors match pod labels', object: ref(obj), message: `selector ${JSON.stringify(sel)} matches no pod of this release` });
    }
  }
  // A Service's targetPort must be a port some selected container exposes (by name or number).
  for (const svc of objects.filter((o) => o.kind === 'Service')) {
    const sel = (svc.spec?.selector as Record<string, string> | undefined) ?? {};
    const targets = longRunning.filter((p) => matches(sel, p.pod.labels));
    if (targets.length === 0) continue; // reported above
    const ports = (svc.spec?.ports as { name?: string; port: number; targetPort?: string | number }[] | undefined) ?? [];
    for (const p of ports) {
      const target = p.targetPort ?? p.port;
      const exposed = targets.some(({ pod }) =>
        pod.spec.containers.some((c) => (c.ports ?? []).some((cp) => cp.name === target || cp.containerPort === target)),
      );
      if (!exposed) {
        out.push({ check: 'services target container ports', object: ref(svc), message: `port ${p.name ?? p.port} targets ${target}, which no selected container exposes` });
      }
    }
  }
  // Every Ingress backend must name a Service of this release and one of its ports.
  for (const ing of objects.filter((o) => o.kind === 'Ingress')) {
    type Backend = { service?: { name: string; port?: { name?: string; number?: number } } };
    const rules = (ing.spec?.rules as { http?: { paths?: { path?: string; backend: Backend }[] } }[] | undefined) ?? [];
    for (const path of rules.flatMap((r) => r.http?.paths ?? [])) {
      const b = path.backend.service;
      const svc = objects.find((o) => o.kind === 'Service' && o.metadata.name === b?.name);
      if (!b || !svc) {
        out.push({ check: 'ingress backends exist', object: ref(ing), message: `path ${path.path} routes to service ${b?.name ?? '(none)'}, which does not exist` });
        continue;
      }
      const ports = (svc.spec?.ports as { name?: string; port: number }[] | undefined) ?? [];
      if (!ports.some((p) => (b.port?.name !== undefined && p.name === b.port.name) || (b.port?.number !== undefined && p.port === b.port.number))) {
        out.push({ check: 'ingress backends exist', object: ref(ing), message: `path ${path.path} routes to ${b.name} port ${b.port?.name ?? b.port?.number}, which that service does not have` });
      }
    }
  }
  return out;
}
