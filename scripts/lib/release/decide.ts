// What to do with the Helm release: read what helm knows, then a pure decision (install, upgrade,
// nothing, recover a release an interrupted run left stuck), keeping what `scale` set.
import type { Session } from '../core/session.ts';
import { type HistoryEntry, type ReleaseInfo } from '../tools/helm.ts';
import { Values, isMap, mergeValues, sameValues } from '../app/values.ts';

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

/** Reads what helm knows of the release: status, then history and values in parallel. */
export async function observeRelease(sn: Session): Promise<ReleaseObservation> {
  const { release } = sn.tools;
  const info = await release.status(sn.scope);
  if (!info) return { history: [] };
  const [history, currentValues] = await Promise.all([release.history(sn.scope), info.status === 'deployed' ? release.values(sn.scope) : undefined]);
  return { info, history, currentValues };
}
