// `setup`: preflight → cluster → kube context → configuration → addons → namespace → images →
// release → report. Each step observes first, decides with a pure function, acts only when
// needed, handles --dry-run itself, and says what it found. Reads that do not depend on each other
// start together: a no-op rerun's 15 process calls form three rounds, not one call after another.
// bench/setup-noop.bench.ts counts the rounds on the critical path: at its 300 ms a call about 5,
// as the toolkit's own work between calls starts some reads of a round after others have ended;
// with calls slow enough to dwarf that work (2.5 s a call) the 3.
import { checkContext, type AccessInfo, type ClusterState, type ImageRoute } from '../cluster/drivers.ts';
import { ensureEnvFile } from '../app/env-file.ts';
import { PrerequisiteError } from '../core/errors.ts';
import { entryComponent, entryPort, loadBalancerPorts } from '../app/components.ts';
import { deliverImages } from '../images/deliver.ts';
import { observeImages } from '../images/plan.ts';
import { type ImageRefs } from '../images/tag.ts';
import { ensureNamespace } from '../cluster/namespace.ts';
import { preflight } from './preflight.ts';
import { applyRelease } from '../release/apply.ts';
import { observeRelease } from '../release/decide.ts';
import { profileValuesFile, readValuesFile, type Values } from '../app/values.ts';
import type { Session } from '../core/session.ts';
import type { HelmVersion } from '../tools/helm.ts';
import type { StepOutcome } from '../core/ui.ts';

/** `yes`: go ahead with what would otherwise be refused (recreating a broken cluster). */
export type SetupOptions = { skipBuild: boolean; timeout: string; yes: boolean };

/** Starts a read now and hands its promise to the step that needs it; a failure surfaces there. */
function early<T>(read: () => Promise<T>): Promise<T> {
  const p = read();
  p.catch(() => {});
  return p;
}

/** What setup brought up, for a command that goes on from there (dev): the images running, the URLs, the helm found, where images are built. */
export type SetupResult = { clusterRunning: boolean; images: ImageRefs; access: AccessInfo; helm: HelmVersion; route: ImageRoute };

export async function runSetup(sn: Session, opts: SetupOptions): Promise<number> {
  await setUp(sn, opts);
  return 0;
}

/** Every step of setup and its report; throws where a step fails. */
export async function setUp(sn: Session, opts: SetupOptions): Promise<SetupResult> {
  const { ui, cluster, tools: t } = sn;
  const s = sn.config.settings;
  const started = Date.now();
  ui.info(`taskflow setup: ${s.TASKFLOW_DRIVER}, profile ${s.TASKFLOW_PROFILE}, namespace ${s.TASKFLOW_NAMESPACE}${sn.dryRun ? ' (dry run: nothing will change)' : ''}`);

  // Round 1: the tools' versions (in preflight), the cluster's state and the kubeconfig, at once.
  const clusterState = early(() => cluster.observe());
  const contexts = early(() => t.kubectl.contexts());
  // Where images are built (minikube: `docker-env`, which also tells its runtime) is read beside
  // the cluster's state, so a no-op rerun spends no round on it.
  const firstRoute = early(() => cluster.imageRoute());
  return ui.finishOnError(async () => {
    const helm = await ui.step('preflight', async () => {
      const r = await preflight(sn);
      return { status: 'done', detail: r.summary, value: r.helm };
    });
    const { running: clusterRunning, startedNow } = await ui.step(`cluster (${s.TASKFLOW_DRIVER} ${s.TASKFLOW_CLUSTER_NAME})`, () => bringUpCluster(sn, opts.yes, clusterState));
    await ui.step('kube context', () => checkKubeContext(sn, { clusterRunning, startedNow, contexts }));

    // A cluster started just now could not answer before; asked again, it decides the route.
    const route = startedNow && clusterRunning ? early(() => cluster.imageRoute()) : firstRoute;
    const entryLocal = entryPort(sn.config);
    const hpaOn = Boolean((readValuesFile(profileValuesFile(sn.root, s.TASKFLOW_PROFILE)).autoscaling as Values | undefined)?.enabled);
    const reads = startReads(sn, { skipBuild: opts.skipBuild, clusterRunning, route, entryLocal });

    await ui.step('configuration', () => ensureEnvFile(sn, { clusterRunning }));
    await ui.step('addons', () => enableAddons(sn, hpaOn, reads.addons));
    await ui.step(`namespace ${s.TASKFLOW_NAMESPACE}`, () => ensureNamespace(sn, { clusterRunning, observed: reads.namespace }));
    const images = await ui.step('images', () => deliverImages(sn, { clusterRunning, route, observed: reads.images }));
    const access = await reads.access;
    await ui.step(`release ${s.TASKFLOW_RELEASE}`, () => applyRelease(sn, { clusterRunning, images, access, helm, timeout: opts.timeout, observed: reads.release, workloads: reads.workloads }));

    if (!clusterRunning) {
      ui.info('  (the cluster is not running yet, so these steps could not read its state)');
      ui.finish({ dryRun: true });
      return { clusterRunning, images, access, helm, route: await route };
    }
    reportReady(sn, access, { started, entryLocal });
    ui.finish({ access, images });
    return { clusterRunning, images, access, helm, route: await route };
  });
}

/** What the cluster step leaves: `running`, the cluster answers now (not in a dry run that would start it); `startedNow`, this run started it. */
type ClusterUp = { running: boolean; startedNow: boolean };

/** Reuses a running cluster, repairs a stale kube context, starts a stopped or missing one and recreates a broken one with --yes. */
async function bringUpCluster(sn: Session, yes: boolean, observed: Promise<{ state: ClusterState; detail: string }>): Promise<StepOutcome<ClusterUp>> {
  const { cluster } = sn;
  const s = sn.config.settings;
  const obs = await observed;
  if (obs.state === 'running') return { status: 'skipped', detail: `running, reused (${obs.detail})`, value: { running: true, startedNow: false } };
  if (obs.state === 'misconfigured') {
    await cluster.repairContext();
    return { status: 'done', detail: `running; its kube context was stale and ${sn.dryRun ? 'would be' : 'was'} repaired (${obs.detail})`, value: { running: true, startedNow: false } };
  }
  if (obs.state === 'broken') {
    if (!yes) {
      throw new PrerequisiteError(
        `${s.TASKFLOW_DRIVER} cluster ${s.TASKFLOW_CLUSTER_NAME} is broken: ${obs.detail}`,
        `Rerun setup with --yes to delete and recreate it (its data goes with it), or delete it yourself: minikube delete -p ${s.TASKFLOW_CLUSTER_NAME}`,
      );
    }
    await cluster.remove();
  }
  await cluster.start(s.TASKFLOW_CPUS, s.TASKFLOW_MEMORY_MB);
  const verb = obs.state === 'missing' ? 'created' : obs.state === 'broken' ? 'deleted and recreated' : 'started';
  return { status: 'done', detail: `${sn.dryRun ? `would be ${verb}` : verb} (was ${obs.state}) with ${s.TASKFLOW_CPUS} CPUs, ${s.TASKFLOW_MEMORY_MB} MiB`, value: { running: !sn.dryRun, startedNow: true } };
}

/** Checks the kube context every call names, once the cluster answers. */
async function checkKubeContext(sn: Session, o: { clusterRunning: boolean; startedNow: boolean; contexts: Promise<string[]> }): Promise<StepOutcome> {
  if (!o.clusterRunning) return { status: 'skipped', detail: `${sn.context} (the cluster is not running yet, so it cannot be checked)` };
  // A cluster started just now has written its context since the first read.
  const context = await checkContext(sn.config, sn.tools.kubectl, sn.cluster, o.startedNow ? undefined : await o.contexts);
  return { status: 'skipped', detail: `${context} (passed explicitly to every kubectl and helm call)` };
}

/** Round 2: starts at once everything the remaining steps read from the cluster and helm. */
function startReads(sn: Session, o: { skipBuild: boolean; clusterRunning: boolean; route: Promise<ImageRoute>; entryLocal: number }) {
  const { cluster, tools: t } = sn;
  const s = sn.config.settings;
  const { clusterRunning } = o;
  return {
    addons: early(async () => (clusterRunning ? cluster.addons() : undefined)),
    namespace: early(async () => (clusterRunning ? t.kubectl.namespace(sn.context, s.TASKFLOW_NAMESPACE) : 'missing' as const)),
    images: early(() => observeImages(sn, { skipBuild: o.skipBuild, clusterRunning, route: o.route })),
    release: early(async () => (clusterRunning ? observeRelease(sn) : { history: [] })),
    workloads: early(async () => (clusterRunning ? t.kubectl.releaseObjects(sn.context, s.TASKFLOW_NAMESPACE, s.TASKFLOW_RELEASE) : [])),
    access: early(() => cluster.access(s.TASKFLOW_INGRESS_HOST, o.entryLocal, loadBalancerPorts(sn.config.app, s.TASKFLOW_DRIVER))),
  };
}

/** Enables the ingress addon, and metrics-server when the profile turns the HPA on, where the driver has addons. */
async function enableAddons(sn: Session, hpaOn: boolean, observed: Promise<Record<string, boolean> | undefined>): Promise<StepOutcome> {
  const { cluster } = sn;
  const s = sn.config.settings;
  const wanted = ['ingress', ...(hpaOn ? ['metrics-server'] : [])];
  if (!cluster.hasAddons) return { status: 'skipped', detail: `${s.TASKFLOW_DRIVER} has no addons; use port-forward (an ingress controller is yours to install)` };
  const addons = (await observed) ?? {};
  const missing = wanted.filter((a) => !addons[a]);
  for (const a of missing) await cluster.enableAddon(a);
  if (missing.length === 0) return { status: 'skipped', detail: `${wanted.join(', ')} already enabled` };
  return { status: 'done', detail: `${sn.dryRun ? 'would enable' : 'enabled'} ${missing.join(', ')}` };
}

/** The closing lines of a setup that brought the app up: how long it took, the URLs that reach it, the next commands. */
function reportReady(sn: Session, access: AccessInfo, o: { started: number; entryLocal: number }): void {
  const { ui } = sn;
  const s = sn.config.settings;
  const entry = entryComponent(sn.config.app);
  ui.info('');
  ui.info(`The app (${s.TASKFLOW_PROFILE}) is ready in ${((Date.now() - o.started) / 1000).toFixed(1)}s:`);
  if (o.entryLocal) ui.info(`  port-forward:  npx tsx scripts/port-forward.ts   then open ${access.portForward}`);
  for (const lb of access.loadBalancers) {
    ui.info(`  ${lb.component} (LoadBalancer): ${lb.url ?? 'no address on this driver'}`);
    for (const step of lb.steps) ui.info(`                 ${step}`);
  }
  if (access.ingress) {
    ui.info(`  ingress:       ${access.ingress.url}`);
    for (const step of access.ingress.steps) ui.info(`                 ${step}`);
  }
  ui.info(`  next:          make status · make validate · make port-forward · make scale ARGS="--${entry ?? 'component'} 2" · make cleanup`);
}
