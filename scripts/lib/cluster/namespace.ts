// The release's namespace: created by setup when missing (after waiting out one still being
// deleted by an earlier cleanup), deleted by cleanup with a wait until it is gone.
import { UserError } from '../core/errors.ts';
import type { Session } from '../core/session.ts';
import type { NamespaceState } from '../tools/kubectl.ts';
import type { StepOutcome } from '../core/ui.ts';
import { waitFor } from '../core/wait.ts';

/** How long a namespace may take to finish terminating (its volumes and finalizers). */
const TERMINATING_TIMEOUT_MS = 180_000;

function stillTerminating(sn: Session, then: string): UserError {
  const { namespace, context } = sn.scope;
  return new UserError(`namespace ${namespace} is still terminating after 3 minutes`, `See what holds it: kubectl --context ${context} get all,pvc -n ${namespace}; ${then}`);
}

/** setup: the namespace exists and is active afterwards. `observed` is a state already read. */
export async function ensureNamespace(sn: Session, opts: { clusterRunning: boolean; observed?: Promise<NamespaceState> }): Promise<StepOutcome> {
  if (!opts.clusterRunning) return { status: 'done', detail: 'would be created' };
  const { kubectl } = sn.tools;
  const { namespace, context } = sn.scope;
  let state = await (opts.observed ?? kubectl.namespace(context, namespace));
  if (state === 'active') return { status: 'skipped', detail: 'exists' };
  if (state === 'terminating') {
    sn.ui.info(`  namespace ${namespace} is still being deleted (an earlier cleanup); waiting for it to go…`);
    state = await waitFor(
      async () => {
        const now = await kubectl.namespace(context, namespace);
        return now === 'terminating' ? undefined : now;
      },
      { timeout: TERMINATING_TIMEOUT_MS, interval: 2000, describe: `namespace ${namespace} to finish terminating`, onTimeout: () => stillTerminating(sn, 'then rerun setup.') },
    );
    if (state === 'active') return { status: 'skipped', detail: 'exists' };
  }
  await kubectl.createNamespace(context, namespace);
  return { status: 'done', detail: sn.dryRun ? 'would be created' : 'created' };
}

/** cleanup: the namespace, with everything in it, is gone afterwards. */
export async function deleteNamespace(sn: Session): Promise<StepOutcome> {
  const { kubectl } = sn.tools;
  const { namespace, context } = sn.scope;
  if ((await kubectl.namespace(context, namespace)) === 'missing') return { status: 'skipped', detail: 'already gone' };
  await kubectl.deleteNamespace(context, namespace);
  if (sn.dryRun) return { status: 'done', detail: 'would be deleted (with the database volume)' };
  await waitFor(async () => (await kubectl.namespace(context, namespace)) === 'missing', {
    timeout: TERMINATING_TIMEOUT_MS,
    interval: 1000,
    describe: `namespace ${namespace} to be deleted`,
    onTimeout: () => stillTerminating(sn, 'rerun cleanup later.'),
  });
  return { status: 'done', detail: 'deleted, with the database volume' };
}
