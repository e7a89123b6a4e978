// `cleanup`: port-forwards → release → namespace → (cluster, images only when asked). Whatever
// is already gone is reported as such; a second run is a quiet success. env/.env is never touched.
import type { ClusterState } from '../cluster/drivers.ts';
import { DockerDaemonDownError } from '../core/errors.ts';
import { imageRepository } from '../images/tag.ts';
import { deleteNamespace } from '../cluster/namespace.ts';
import { describeStop, portForwardPidFile, runningInstance, stopRunning } from '../core/pidfile.ts';
import type { Session } from '../core/session.ts';
import type { StepOutcome } from '../core/ui.ts';

export type CleanupOptions = {
  keepData: boolean;
  stopCluster: boolean;
  purge: boolean;
  timeout: string;
};

/** What cluster.observe() found (a failed read counts as missing). */
type ClusterObservation = { state: ClusterState; detail: string };

/** Whether the cluster answers: running, or running behind a stale kube context that cleanup repairs. */
const answers = (obs: ClusterObservation) => obs.state === 'running' || obs.state === 'misconfigured';

/** Every step of cleanup and its report; throws where a step fails. */
export async function runCleanup(sn: Session, opts: CleanupOptions): Promise<number> {
  const { ui, cluster, tools: t, context, scope } = sn;
  const s = sn.config.settings;
  ui.info(`taskflow cleanup: ${s.TASKFLOW_DRIVER} ${s.TASKFLOW_CLUSTER_NAME}, namespace ${s.TASKFLOW_NAMESPACE}${sn.dryRun ? ' (dry run: nothing will change)' : ''}`);

  // Read at once: what the later steps need to know about the cluster.
  // A stopped Docker daemon stops cleanup: the cluster behind it is not gone, and --purge must not delete it.
  const clusterState = cluster.observe().catch((err: Error) => {
    if (err instanceof DockerDaemonDownError) throw err;
    return { state: 'missing' as const, detail: err.message };
  });
  clusterState.catch(() => {});
  const contexts = t.kubectl.contexts().catch(() => [] as string[]);
  return ui.finishOnError(async () => {
    await ui.step('port-forwards', () => stopPortForward(sn));

    const obs = await clusterState;
    if (obs.state === 'misconfigured') {
      await ui.step('kube context', async () => {
        await cluster.repairContext();
        return { status: 'done', detail: `${context} was stale; ${sn.dryRun ? 'would be' : ''} repaired`.replace('  ', ' ') };
      });
    }
    const running = answers(obs);
    const reachable = running && (await contexts).includes(context);
    const gone = !running ? `cluster ${obs.state}` : `no kube context ${context}`;

    await ui.step(`release ${s.TASKFLOW_RELEASE}`, async () => {
      if (!reachable) return { status: 'skipped', detail: `${gone}, nothing deployed to remove` };
      const info = await t.release.status(scope);
      if (!info) return { status: 'skipped', detail: 'already gone' };
      await t.release.uninstall(scope, opts.timeout);
      return { status: 'done', detail: `${sn.dryRun ? 'would be uninstalled' : 'uninstalled'} (was ${info.status}, revision ${info.revision})` };
    });

    await ui.step(`namespace ${s.TASKFLOW_NAMESPACE}`, async () => {
      if (!reachable) return { status: 'skipped', detail: gone };
      if (opts.keepData) return { status: 'skipped', detail: '--keep-data: kept with the database volume and its Secret' };
      return deleteNamespace(sn);
    });

    if (opts.stopCluster || opts.purge) await ui.step(`cluster ${s.TASKFLOW_CLUSTER_NAME}`, () => stopOrDeleteCluster(sn, obs, opts.purge));
    if (opts.purge) await ui.step('images', () => removeImages(sn));

    ui.info(`env/.env kept${sn.config.envFileExists ? '' : ' (there is none)'}: your settings and secrets stay for the next setup.`);
    ui.finish();
    return 0;
  });
}

/** Stops the port-forward started with --detach, if one runs (in a dry run, only says so). */
async function stopPortForward(sn: Session): Promise<StepOutcome> {
  const pidFile = portForwardPidFile(sn.root);
  if (sn.dryRun) {
    const pid = await runningInstance(pidFile, { keepStale: true });
    return pid === undefined ? { status: 'skipped', detail: 'none running' } : { status: 'done', detail: `would stop port-forward (pid ${pid})` };
  }
  const r = await stopRunning(pidFile);
  if (r.pid === undefined) return { status: 'skipped', detail: r.stale ? 'none running (removed a stale PID file)' : 'none running' };
  return { status: 'done', detail: `stopped port-forward (${describeStop(r.pid, r.forced)})` };
}

/** --purge deletes the cluster; --cluster stops a running minikube profile and leaves other drivers' clusters be. */
async function stopOrDeleteCluster(sn: Session, obs: ClusterObservation, purge: boolean): Promise<StepOutcome> {
  const { cluster } = sn;
  const s = sn.config.settings;
  if (purge) {
    if (obs.state === 'missing') return { status: 'skipped', detail: 'already gone' };
    if (s.TASKFLOW_DRIVER === 'docker-desktop') return { status: 'skipped', detail: 'Docker Desktop owns its cluster' };
    await cluster.remove();
    return { status: 'done', detail: sn.dryRun ? 'would be deleted' : 'deleted' };
  }
  if (obs.state === 'broken') return { status: 'skipped', detail: `broken (${obs.detail}); --purge deletes it` };
  if (!answers(obs)) return { status: 'skipped', detail: `already ${obs.state}` };
  if (s.TASKFLOW_DRIVER !== 'minikube') return { status: 'skipped', detail: `${s.TASKFLOW_DRIVER} clusters are not stopped by taskflow (use --purge to delete a kind cluster)` };
  await cluster.stop();
  return { status: 'done', detail: sn.dryRun ? 'would be stopped' : 'stopped' };
}

/** Removes the app's images from the local Docker daemon (--purge). */
async function removeImages(sn: Session): Promise<StepOutcome> {
  const { tools: t } = sn;
  const s = sn.config.settings;
  const lists = await Promise.all(Object.keys(sn.config.app.components).map((c) => t.docker.listImages(imageRepository(sn.config, c))));
  const refs = lists.flat();
  // On minikube's docker runtime setup builds in the node's own daemon: those images went with the profile.
  const inNode = s.TASKFLOW_DRIVER === 'minikube' ? " (images built in minikube's Docker daemon went with the profile)" : '';
  if (refs.length === 0) return { status: 'skipped', detail: `no ${sn.config.app.name} images in local Docker${inNode}` };
  for (const ref of refs) await t.docker.removeImage(ref);
  return { status: 'done', detail: `${sn.dryRun ? 'would remove' : 'removed'} ${refs.join(', ')}` };
}
