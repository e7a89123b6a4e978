// The release step: the values wanted against what helm has, then install, upgrade, recover or
// nothing, rolled back with the diagnosis when the pods fail, and ready in every case.
import { join } from 'node:path';
import { accessOrigins, type AccessInfo } from '../cluster/drivers.ts';
import { UserError } from '../core/errors.ts';
import type { ImageRefs } from '../images/tag.ts';
import { maskedReleaseValues } from '../core/masked.ts';
import type { Session } from '../core/session.ts';
import type { StepOutcome } from '../core/ui.ts';
import { toYaml, type HelmVersion } from '../tools/helm.ts';
import type { KubeObject } from '../tools/kubectl.ts';
import { diagnose, requireReady } from './readiness.ts';
import { ReleaseObservation, decideRelease, lastGoodRevision, observeRelease, scaledValues } from './decide.ts';
import { Values, chartDir, chartHash, mergeValues, profileValuesFile, readValuesFile } from '../app/values.ts';
import { releaseValues } from './values.ts';

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
