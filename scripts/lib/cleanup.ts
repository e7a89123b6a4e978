// `cleanup`: port-forwards → release → namespace → (cluster, images only when asked). Whatever
// is already gone is reported as such; a second run is a quiet success. env/.env is never touched.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, type SettingKey } from './config.ts';
import { UserError } from './errors.ts';
import { Exec } from './exec.ts';
import { makeCluster } from './cluster.ts';
import { imageRepository } from './images.ts';
import { makeTools } from './tools/index.ts';
import { Ui } from './ui.ts';

export type CleanupOptions = {
  root: string;
  dryRun: boolean;
  verbose: boolean;
  json: boolean;
  keepData: boolean;
  stopCluster: boolean;
  purge: boolean;
  timeout: string;
  flags: Partial<Record<SettingKey, { value: string; flag: string }>>;
};

/** Where `port-forward --detach` records its supervisor's PID. */
export function portForwardPidFile(root: string): string {
  return join(root, '.cache', 'port-forward.pid');
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function runCleanup(opts: CleanupOptions, helmBin: string): Promise<number> {
  const ui = new Ui({ json: opts.json });
  const exec = new Exec({ dryRun: opts.dryRun, verbose: opts.verbose || opts.dryRun });
  const t = makeTools(exec, helmBin);
  const config = loadConfig({ root: opts.root, flags: opts.flags });
  const s = config.settings;
  const cluster = makeCluster(config, t);
  const context = s.TASKFLOW_KUBE_CONTEXT || cluster.context;
  const scope = { release: s.TASKFLOW_RELEASE, namespace: s.TASKFLOW_NAMESPACE, context };
  ui.info(`taskflow cleanup: ${s.TASKFLOW_DRIVER} ${s.TASKFLOW_CLUSTER_NAME}, namespace ${s.TASKFLOW_NAMESPACE}${opts.dryRun ? ' (dry run: nothing will change)' : ''}`);

  try {
    await ui.step('port-forwards', async () => {
      const pidFile = portForwardPidFile(opts.root);
      if (!existsSync(pidFile)) return { status: 'skipped', detail: 'none running' };
      const pid = Number(readFileSync(pidFile, 'utf8').trim());
      if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) {
        if (!opts.dryRun) rmSync(pidFile, { force: true });
        return { status: 'skipped', detail: 'none running (removed a stale PID file)' };
      }
      if (opts.dryRun) return { status: 'done', detail: `would stop port-forward (pid ${pid})` };
      process.kill(pid, 'SIGTERM');
      rmSync(pidFile, { force: true });
      return { status: 'done', detail: `stopped port-forward (pid ${pid})` };
    });

    const obs = await cluster.observe().catch((err: Error) => ({ state: 'missing' as const, detail: err.message }));
    const running = obs.state === 'running';

    await ui.step(`release ${s.TASKFLOW_RELEASE}`, async () => {
      if (!running) return { status: 'skipped', detail: `cluster ${obs.state}, nothing deployed to remove` };
      if (!(await t.kubectl.contexts()).includes(context)) return { status: 'skipped', detail: `no kube context ${context}, nothing to remove` };
      const info = await t.release.status(scope);
      if (!info) return { status: 'skipped', detail: 'already gone' };
      await t.release.uninstall(scope, opts.timeout);
      return { status: 'done', detail: `${opts.dryRun ? 'would be uninstalled' : 'uninstalled'} (was ${info.status}, revision ${info.revision})` };
    });

    await ui.step(`namespace ${s.TASKFLOW_NAMESPACE}`, async () => {
      if (!running) return { status: 'skipped', detail: `cluster ${obs.state}` };
      if (!(await t.kubectl.contexts()).includes(context)) return { status: 'skipped', detail: `no kube context ${context}` };
      if (opts.keepData) return { status: 'skipped', detail: '--keep-data: kept with the database volume and its Secret' };
      let state = await t.kubectl.namespace(context, s.TASKFLOW_NAMESPACE);
      if (state === 'missing') return { status: 'skipped', detail: 'already gone' };
      await t.kubectl.deleteNamespace(context, s.TASKFLOW_NAMESPACE);
      if (opts.dryRun) return { status: 'done', detail: 'would be deleted (with the database volume)' };
      const deadline = Date.now() + 180_000;
      while (state !== 'missing' && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 1000));
        state = await t.kubectl.namespace(context, s.TASKFLOW_NAMESPACE);
      }
      if (state !== 'missing') {
        throw new UserError(`namespace ${s.TASKFLOW_NAMESPACE} is still terminating after 3 minutes`, `See what holds it: kubectl --context ${context} get all,pvc -n ${s.TASKFLOW_NAMESPACE}; rerun cleanup later.`);
      }
      return { status: 'done', detail: 'deleted, with the database volume' };
    });

    if (opts.stopCluster || opts.purge) {
      await ui.step(`cluster ${s.TASKFLOW_CLUSTER_NAME}`, async () => {
        if (opts.purge) {
          if (obs.state === 'missing') return { status: 'skipped', detail: 'already gone' };
          if (s.TASKFLOW_DRIVER === 'docker-desktop') return { status: 'skipped', detail: 'Docker Desktop owns its cluster' };
          await cluster.remove();
          return { status: 'done', detail: opts.dryRun ? 'would be deleted' : 'deleted' };
        }
        if (!running) return { status: 'skipped', detail: `already ${obs.state}` };
        if (s.TASKFLOW_DRIVER !== 'minikube') return { status: 'skipped', detail: `${s.TASKFLOW_DRIVER} clusters are not stopped by taskflow (use --purge to delete a kind cluster)` };
        await cluster.stop();
        return { status: 'done', detail: opts.dryRun ? 'would be stopped' : 'stopped' };
      });
    }

    if (opts.purge) {
      await ui.step('images', async () => {
        const refs = [...(await t.docker.listImages(imageRepository(config, 'backend'))), ...(await t.docker.listImages(imageRepository(config, 'frontend')))];
        if (refs.length === 0) return { status: 'skipped', detail: 'no taskflow images in local Docker' };
        for (const ref of refs) await t.docker.removeImage(ref);
        return { status: 'done', detail: `${opts.dryRun ? 'would remove' : 'removed'} ${refs.join(', ')}` };
      });
    }

    ui.info(`env/.env kept${config.envFileExists ? '' : ' (there is none)'}: your settings and secrets stay for the next setup.`);
    ui.finish();
    return 0;
  } catch (err) {
    ui.finish({ error: (err as Error).message.split('\n')[0] });
    throw err;
  }
}
