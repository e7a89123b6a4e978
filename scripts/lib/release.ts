// The Helm release: the values setup passes, the decision install / upgrade / nothing / recover,
// and the diagnostics printed when a release fails.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { App } from './app.ts';
import { CHART_SECRET_KEYS } from './chart-files.ts';
import { componentValues } from './components.ts';
import type { Settings } from './config.ts';
import { accessOrigins, type AccessInfo } from './cluster.ts';
import { UserError } from './errors.ts';
import type { ImageRefs } from './images.ts';
import { maskedReleaseValues } from './masked.ts';
import type { Session } from './session.ts';
import type { StepOutcome } from './ui.ts';
import { toYaml, type HelmVersion, type HistoryEntry, type ReleaseInfo } from './tools/helm.ts';
import type { KubeObject, Kubectl } from './tools/kubectl.ts';

export type Values = Record<string, unknown>;

const isMap = (v: unknown): v is Values => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Helm's coalescing of user values files: maps merge key by key, anything else is replaced, null deletes. */
export function mergeValues(base: Values, over: Values): Values {
  const out: Values = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === null) delete out[k];
    else if (isMap(v) && isMap(out[k])) out[k] = mergeValues(out[k] as Values, v);
    else out[k] = v;
  }
  return out;
}

/** Deep equality of JSON-like values, key order ignored. */
export function sameValues(a: unknown, b: unknown): boolean {
  if (isMap(a) && isMap(b)) {
    const ka = Object.keys(a).sort();
    const kb = Object.keys(b).sort();
    return ka.length === kb.length && ka.every((k, i) => k === kb[i] && sameValues(a[k], b[k]));
  }
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => sameValues(v, b[i]));
  return a === b;
}

/** Hash of every file of the chart, so a template edit without a version bump still upgrades. */
export function chartHash(chartDir: string): string {
  const h = createHash('sha256');
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const abs = join(dir, name);
      if (statSync(abs).isDirectory()) walk(abs);
      else h.update(`${relative(chartDir, abs).split(sep).join('/')}\0`).update(readFileSync(abs));
    }
  };
  walk(chartDir);
  return h.digest('hex').slice(0, 16);
}

export type ReleaseInputs = {
  settings: Settings;
  /** The app's components as declared, and the values of its own settings. */
  app: App;
  appValues: Record<string, string>;
  images: ImageRefs;
  /** Origins a browser reaches the app at (port-forward, ingress), for CORS and auth. */
  origins: string[];
  chartHash: string;
  /** The chart's values.yaml under the profile file: what the generated values are laid over. */
  chartValues: Values;
  /** The profile file alone (values-dev.yaml): it outranks the declaration. */
  profileValues: Values;
};

/** The secret keys the declared components read that go under secrets.extra (not the chart's own). */
export function extraSecretKeys(app: App): string[] {
  return [...new Set(Object.values(app.components).flatMap((c) => c.secrets ?? []))].filter((k) => !Object.hasOwn(CHART_SECRET_KEYS, k));
}

/**
 * Where the database migrations run: the first component that declares a migrate command, in its
 * image; with none, they are off whatever the profile says (its default names a component of the
 * reference app).
 */
export function migrationValues(app: App): Values {
  const entry = Object.entries(app.components).find(([, c]) => c.migrate);
  return entry ? { component: entry[0], command: entry[1].migrate } : { enabled: false };
}

/**
 * The declared components as `components` values, with the profile file's components laid over
 * them (the profile outranks the declaration). `chartValues` is values.yaml under the profile.
 */
export function declarationLayer(app: App, appValues: Record<string, string>, chartValues: Values, profileValues: Values, driver: string, profile: string): Values {
  const declared = componentValues(app, (chartValues.components ?? {}) as Values, appValues, driver, profile);
  return mergeValues(declared, (profileValues.components ?? {}) as Values);
}

/**
 * The values setup adds on top of the profile file, secrets included (sent on stdin only). The
 * declaration's components lie under the profile (its values win) and the generated ones (images,
 * access URLs, secrets) over both.
 */
export function releaseValues(inp: ReleaseInputs): Values {
  const s = inp.settings;
  const origins = s.CORS_ORIGINS || inp.origins.join(',');
  const first = s.BETTER_AUTH_URL || inp.origins[0] || '';
  const components = declarationLayer(inp.app, inp.appValues, inp.chartValues, inp.profileValues, s.TASKFLOW_DRIVER, s.TASKFLOW_PROFILE);
  const extra: Record<string, string> = {};
  for (const [name, c] of Object.entries(inp.app.components)) {
    const env: Values = {};
    for (const [variable, which] of Object.entries(c.accessUrls ?? {})) env[variable] = which === 'first' ? first : origins;
    const image = inp.images[name];
    const generated: Values = { env };
    // Images come from the registry when one is set, so the cluster must be allowed to pull them (dev says Never).
    if (image) generated.image = { ...image, ...(s.TASKFLOW_IMAGE_REGISTRY ? { pullPolicy: 'IfNotPresent' } : {}) };
    components[name] = mergeValues(components[name] as Values, generated);
  }
  // Every key a component reads that the chart's Secret does not hold itself: its value, or empty
  // (an optional setting left unset), so the Secret holds each key the pods ask for.
  for (const key of extraSecretKeys(inp.app)) {
    const value = inp.appValues[key] ?? (s as Record<string, unknown>)[key];
    extra[key] = typeof value === 'string' ? value : '';
  }
  const values: Values = {
    commonAnnotations: { 'taskflow.dev/chart-hash': inp.chartHash, 'taskflow.dev/profile': s.TASKFLOW_PROFILE },
    components,
    migrations: migrationValues(inp.app),
    ingress: { host: s.TASKFLOW_INGRESS_HOST },
    secrets: {
      betterAuthSecret: s.BETTER_AUTH_SECRET ?? '',
      openaiApiKey: s.OPENAI_API_KEY,
      // Empty lets the chart generate one and keep it; a value from env/.env is the one compose uses too.
      mcpSharedSecret: s.MCP_SHARED_SECRET ?? '',
      extra,
    },
  };
  if (s.DATABASE_URL) {
    values.postgresql = { enabled: false };
    values.externalDatabase = { url: s.DATABASE_URL };
  } else {
    values.postgresql = { auth: { password: s.POSTGRES_PASSWORD ?? '' } };
  }
  return values;
}

/** What `scale` may change on a release (every component's replicaCount, the HPA switch); setup keeps these so it never undoes a scale. */
function scalePaths(current: Values): string[][] {
  const components = isMap(current.components) ? Object.keys(current.components) : [];
  return [...components.map((c) => ['components', c, 'replicaCount']), ['autoscaling', 'enabled']];
}

/**
 * The scale-owned values of the deployed release, to pass again on the next upgrade, as long as it
 * runs the same profile (switching profile takes the new profile's counts).
 */
export function scaledValues(current: Values | undefined, profile: string): Values {
  const annotations = (current?.commonAnnotations ?? {}) as Record<string, unknown>;
  if (!current || annotations['taskflow.dev/profile'] !== profile) return {};
  let out: Values = {};
  for (const path of scalePaths(current)) {
    const v = path.reduce<unknown>((o, k) => (isMap(o) ? o[k] : undefined), current);
    if (v !== undefined) out = mergeValues(out, path.reduceRight<unknown>((inner, k) => ({ [k]: inner }), v) as Values);
  }
  return out;
}

const parsedValues = new Map<string, { stamp: string; values: Values }>();

/**
 * A values file, parsed once per version of the file: validate reads values.yaml for every profile,
 * and YAML parsing is most of its own CPU. Each caller gets its own copy to change.
 */
export function readValuesFile(path: string): Values {
  const { mtimeMs, size } = statSync(path);
  const stamp = `${mtimeMs}:${size}`;
  let hit = parsedValues.get(path);
  if (hit?.stamp !== stamp) {
    hit = { stamp, values: (parseYaml(readFileSync(path, 'utf8')) ?? {}) as Values };
    parsedValues.set(path, hit);
  }
  return structuredClone(hit.values);
}

export type ReleaseObservation = {
  info?: ReleaseInfo;
  history: HistoryEntry[];
  /** `helm get values` of the current revision, when there is one. */
  currentValues?: Values;
};

export type ReleaseVerdict =
  | { action: 'install'; reason: string }
  | { action: 'upgrade'; reason: string }
  | { action: 'none'; reason: string }
  | { action: 'rollback-then-upgrade'; revision: number; reason: string }
  | { action: 'uninstall-then-install'; reason: string };

const PENDING = new Set(['pending-install', 'pending-upgrade', 'pending-rollback']);

/** The newest revision that was ever deployed (other than `except`): where a rollback goes. */
export function lastGoodRevision(history: HistoryEntry[], except?: number): HistoryEntry | undefined {
  return history.filter((h) => h.revision !== except && (h.status === 'deployed' || h.status === 'superseded')).sort((a, b) => b.revision - a.revision)[0];
}

/** Pure: what to do with the release, from what helm reports and the values wanted. */
export function decideRelease(obs: ReleaseObservation, desired: Values): ReleaseVerdict {
  const info = obs.info;
  if (!info) return { action: 'install', reason: 'not installed' };
  const lastGood = lastGoodRevision(obs.history, info.revision);
  if (PENDING.has(info.status) || info.status === 'uninstalling') {
    if (lastGood) {
      return { action: 'rollback-then-upgrade', revision: lastGood.revision, reason: `stuck in ${info.status} (revision ${info.revision}), an interrupted run` };
    }
    return { action: 'uninstall-then-install', reason: `stuck in ${info.status} with no deployed revision` };
  }
  if (info.status === 'failed') {
    if (lastGood) return { action: 'upgrade', reason: `revision ${info.revision} failed` };
    return { action: 'uninstall-then-install', reason: 'the first install failed' };
  }
  if (info.status === 'deployed' && obs.currentValues && sameValues(obs.currentValues, desired)) {
    return { action: 'none', reason: `revision ${info.revision} deployed with these values` };
  }
  return { action: 'upgrade', reason: info.status === 'deployed' ? 'values or images changed' : `status ${info.status}` };
}

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

/** The chart the toolkit installs, and the values file of a profile. */
export function chartDir(root: string): string {
  return join(root, 'helm', 'taskflow');
}

/** The two layers the declaration sits between: a profile's values file (empty when the chart has none), and values.yaml with it merged in. */
export function chartLayers(chart: string, profile: string): { profileValues: Values; chartValues: Values } {
  const file = join(chart, `values-${profile}.yaml`);
  const profileValues = existsSync(file) ? readValuesFile(file) : {};
  return { profileValues, chartValues: mergeValues(readValuesFile(join(chart, 'values.yaml')), profileValues) };
}

export function profileValuesFile(root: string, profile: string): string {
  return join(chartDir(root), `values-${profile}.yaml`);
}

/** Reads what helm knows of the release: status, then history and values in parallel. */
export async function observeRelease(sn: Session): Promise<ReleaseObservation> {
  const { release } = sn.tools;
  const info = await release.status(sn.scope);
  if (!info) return { history: [] };
  const [history, currentValues] = await Promise.all([release.history(sn.scope), info.status === 'deployed' ? release.values(sn.scope) : undefined]);
  return { info, history, currentValues };
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

/**
 * Runs an upgrade that waits for the pods. When it fails, the diagnosis is collected first, while
 * the failing pods still exist, and only then is the release rolled back to its last good
 * revision (or a first install uninstalled), so nothing is left half-done and the cause is shown.
 */
export async function upgradeOrRollBack(sn: Session, upgrade: () => Promise<{ ok: boolean; output: string }>, o: { helm: HelmVersion; timeout: string; rerun: string }): Promise<void> {
  const r = await upgrade();
  if (r.ok || sn.dryRun) return;
  const { release: helmRelease, kubectl } = sn.tools;
  const { release, namespace, context } = sn.scope;
  const why = await diagnose(kubectl, context, namespace, release);
  const history = await helmRelease.history(sn.scope);
  const lastGood = lastGoodRevision(history);
  let undone: string;
  if (lastGood) {
    await helmRelease.rollback(sn.scope, lastGood.revision, o.helm, o.timeout);
    undone = `the release was rolled back to revision ${lastGood.revision}`;
  } else if (history.length) {
    await helmRelease.uninstall(sn.scope, o.timeout);
    undone = 'the release was uninstalled (it had never been deployed)';
  } else undone = 'nothing was installed';
  throw new UserError(
    `helm upgrade failed and ${undone}:\n${r.output.split('\n').slice(-6).join('\n')}\n${why}`,
    `Fix the cause above and ${o.rerun}. History: helm history ${release} -n ${namespace} --kube-context ${context}`,
  );
}

export type ApplyReleaseOptions = {
  clusterRunning: boolean;
  images: ImageRefs;
  access: AccessInfo;
  helm: HelmVersion;
  timeout: string;
  /** The release as already read (setup reads it while earlier steps run). */
  observed?: Promise<ReleaseObservation>;
  /** Its workloads as already read, for the readiness check of an unchanged release. */
  workloads?: Promise<KubeObject[]>;
};


/** What `helm upgrade --install` is given: the profile's values file, and the generated values for stdin. */
export type InstallValues = { profileFile: string; profileValues: Values; stdinValues: Values };

/**
 * The values setup installs the release with, from the declaration, the settings, the images and
 * the access origins; `render` passes the same to `helm template`, so the two cannot drift. The
 * scale-owned values of a live release (scaledValues) are not in them: setup lays those over.
 */
export function installValues(sn: Pick<Session, 'root' | 'config'>, images: ImageRefs, origins: string[]): InstallValues {
  const s = sn.config.settings;
  const profileFile = profileValuesFile(sn.root, s.TASKFLOW_PROFILE);
  const profileValues = readValuesFile(profileFile);
  const stdinValues = releaseValues({
    settings: s,
    app: sn.config.app,
    appValues: sn.config.appValues,
    profileValues,
    images,
    origins,
    chartHash: chartHash(chartDir(sn.root)),
    chartValues: mergeValues(readValuesFile(join(chartDir(sn.root), 'values.yaml')), profileValues),
  });
  return { profileFile, profileValues, stdinValues };
}

/**
 * The release step: the values wanted (profile file, then generated values with the secrets, on
 * stdin) against what helm has, then install, upgrade, recover a stuck release, or nothing; and in
 * every case, the workloads must be ready for the step to pass.
 */
export async function applyRelease(sn: Session, o: ApplyReleaseOptions): Promise<StepOutcome> {
  const s = sn.config.settings;
  const { profileFile, profileValues, stdinValues: overrides } = installValues(sn, o.images, accessOrigins(o.access));
  const { release } = sn.tools;
  const upgrade = (stdinValues: Values) =>
    release.upgrade({ ...sn.scope, chart: chartDir(sn.root), valuesFiles: [profileFile], stdinValues: toYaml(stdinValues), shownValues: toYaml(maskedReleaseValues(stdinValues)), timeout: o.timeout, helm: o.helm });
  if (!o.clusterRunning) {
    // A dry run before the cluster runs: the command it would run is shown, its values masked.
    if (sn.dryRun) await upgrade(overrides);
    return { status: 'done', detail: `would be installed with values-${s.TASKFLOW_PROFILE}.yaml and the generated values on stdin` };
  }
  const obs = await (o.observed ?? observeRelease(sn));
  // Replica counts and the HPA switch set by `scale` stay as they are: Helm holds them, setup keeps them.
  const stdinValues = mergeValues(overrides, scaledValues(obs.currentValues, s.TASKFLOW_PROFILE));
  // What `helm get values` will return after the upgrade: the profile file, then stdin.
  const desired = mergeValues(profileValues, stdinValues);
  const verdict = decideRelease(obs, desired);
  if (verdict.action === 'none') {
    // Skipping the upgrade is right; calling the app ready needs its workloads read.
    const ready = await requireReady(sn, o.workloads);
    return { status: 'skipped', detail: `unchanged: ${verdict.reason}; ${ready}` };
  }
  if (verdict.action === 'rollback-then-upgrade') {
    sn.ui.info(`  release ${verdict.reason}: rolling back to revision ${verdict.revision} first`);
    await release.rollback(sn.scope, verdict.revision, o.helm, o.timeout);
  }
  if (verdict.action === 'uninstall-then-install') {
    sn.ui.info(`  release ${verdict.reason}: uninstalling it first`);
    await release.uninstall(sn.scope, o.timeout);
  }
  await upgradeOrRollBack(
    sn,
    () => upgrade(stdinValues),
    { helm: o.helm, timeout: o.timeout, rerun: 'rerun setup' },
  );
  const did = verdict.action === 'install' || verdict.action === 'uninstall-then-install' ? 'installed' : 'upgraded';
  return { status: 'done', detail: `${sn.dryRun ? `would be ${did}` : did} (${verdict.reason}), all pods ready` };
}
