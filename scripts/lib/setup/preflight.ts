// Preflight: every tool present and recent enough, Docker answering, resources enough for the
// cluster. Read-only; the version reads run at once, and the first problem in a fixed order wins.
import { cpus, totalmem } from 'node:os';
import { PrerequisiteError } from '../core/errors.ts';
import type { Session } from '../core/session.ts';
import { checkHelmVersion, type HelmVersion } from '../tools/helm.ts';
import { formatVersion, installHints } from '../tools/versions.ts';

/** Runs a version check and turns "not found" into the tool's install hint. */
async function tool<T>(name: string, check: () => Promise<T>): Promise<T> {
  try {
    return await check();
  } catch (err) {
    if (err instanceof PrerequisiteError && /not found on PATH/.test(err.message)) {
      throw new PrerequisiteError(err.message, installHints[name] ?? `Install ${name} and rerun.`);
    }
    throw err;
  }
}

/** The value of each settled read, or the first failure in the order the reads were given. */
function firstFailure<T extends readonly unknown[]>(results: { [K in keyof T]: PromiseSettledResult<T[K]> }): T {
  for (const r of results) if (r.status === 'rejected') throw r.reason;
  return results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

export async function preflight(sn: Session): Promise<{ helm: HelmVersion; summary: string }> {
  const t = sn.tools;
  const s = sn.config.settings;
  const clusterTools = sn.cluster.tools.map((name) => tool(name, () => (name === 'minikube' ? t.minikube.version() : t.kind.version())));
  const [dockerInfo, helmV, kubectlV, ...clusterV] = firstFailure(
    await Promise.allSettled([tool('docker', () => t.docker.info()), tool('helm', () => t.helm.version()), tool('kubectl', () => t.kubectl.clientVersion()), ...clusterTools] as const),
  );
  checkHelmVersion(helmV);
  const parts = [`docker ${formatVersion(dockerInfo.server)}`, `helm ${helmV.raw}`, `kubectl ${formatVersion(kubectlV)}`];
  sn.cluster.tools.forEach((name, i) => parts.push(`${name} ${formatVersion(clusterV[i]!)}`));
  if (s.TASKFLOW_DRIVER === 'minikube') {
    const haveCpus = dockerInfo.cpus || cpus().length;
    const haveMb = Math.floor((dockerInfo.memoryBytes || totalmem()) / 1024 / 1024);
    const problems: string[] = [];
    if (s.TASKFLOW_CPUS > haveCpus) problems.push(`TASKFLOW_CPUS=${s.TASKFLOW_CPUS} but Docker has ${haveCpus} CPUs`);
    if (s.TASKFLOW_MEMORY_MB > haveMb) problems.push(`TASKFLOW_MEMORY_MB=${s.TASKFLOW_MEMORY_MB} but Docker has ${haveMb} MiB`);
    if (problems.length) {
      throw new PrerequisiteError(`not enough resources for the cluster: ${problems.join('; ')}`, 'Lower TASKFLOW_CPUS / TASKFLOW_MEMORY_MB in env/.env, or give Docker more in its settings.');
    }
  }
  return { helm: helmV, summary: parts.join(', ') };
}
