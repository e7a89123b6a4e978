// The drills `validate` runs on request, against the live release through the app's own access
// path: a task written before the database pod is deleted is read back once the database is ready
// again (persistence), and a deleted pod is replaced while requests keep coming (self-heal).
import type { CheckOutcome } from './checks.ts';
import { UserError } from '../core/errors.ts';
import { httpClient } from '../core/http.ts';
import { componentOf } from '../core/names.ts';
import type { Session } from '../core/session.ts';
import type { KubeObject } from '../tools/kubectl.ts';
import { waitFor } from '../core/wait.ts';

export type DrillTarget = {
  sn: Session;
  /** Base URL of the app (a port-forward to its entry component, or --url). */
  url: string;
  /** The release's objects as the cluster checks read them. */
  objects: KubeObject[];
  log: (line: string) => void;
};

const API = '/api/v1';
const REQUEST_TIMEOUT = 10_000;
/** A pod rescheduled on a local cluster (image present) is back well within this. */
const DRILL_TIMEOUT = 180_000;

function releaseObjects(sn: Session): Promise<KubeObject[]> {
  return sn.tools.kubectl.releaseObjects(sn.context, sn.scope.namespace, sn.scope.release);
}

function isReady(pod: KubeObject): boolean {
  return ((pod.status?.conditions ?? []) as { type: string; status: string }[]).some((c) => c.type === 'Ready' && c.status === 'True');
}

/** Writes a task, deletes the database pod, and reads the task back once its replacement is ready. */
export async function persistenceDrill(t: DrillTarget): Promise<CheckOutcome> {
  if (!t.objects.some((x) => x.kind === 'StatefulSet')) return { ok: true, details: ['external database: nothing in the cluster to restart'] };
  const call = httpClient(t.url, REQUEST_TIMEOUT);
  const email = `persist-${Date.now()}@example.com`;
  const signup = await call('POST', `${API}/auth/signup`, { email, password: 'persist-Password-1', name: 'Persist' });
  if (signup.status !== 201) return { ok: false, details: [`sign up → ${signup.status}`] };
  const token = (signup.json as { access_token: string }).access_token;
  const title = `persisted ${Date.now()}`;
  const created = await call('POST', `${API}/tasks`, { title }, token);
  if (created.status !== 201) return { ok: false, details: [`create task → ${created.status}`] };
  const pod = t.objects.find((x) => x.kind === 'Pod' && componentOf(x) === 'postgresql');
  if (!pod) return { ok: false, details: ['no database pod found'] };

  await t.sn.tools.kubectl.deletePod(t.sn.context, t.sn.scope.namespace, pod.metadata.name);
  t.log(`  deleted ${pod.metadata.name}; waiting for it to come back…`);
  const seen: { last?: string } = {};
  await waitFor(
    async () => {
      // The StatefulSet recreates the pod under the same name; until then the old one (same uid) is
      // still listed, and still counted ready for a moment after the delete.
      const now = (await releaseObjects(t.sn)).find((x) => x.kind === 'Pod' && x.metadata.name === pod.metadata.name);
      if (!now || now.metadata.uid === pod.metadata.uid || !isReady(now)) {
        seen.last = now?.metadata.uid === pod.metadata.uid ? 'the deleted database pod still there' : 'database not ready yet';
        return false;
      }
      const list = await call('GET', `${API}/tasks`, undefined, token).catch(() => undefined);
      seen.last = `GET /tasks → ${list?.status ?? 'no answer'}`;
      return list?.status === 200 && Array.isArray(list.json) && (list.json as { title: string }[]).some((x) => x.title === title);
    },
    {
      timeout: DRILL_TIMEOUT,
      interval: 2000,
      describe: 'the task to be read back',
      onTimeout: (last) => new UserError(`the task was not read back within 3 minutes (last: ${last ?? 'nothing'})`),
    },
    seen,
  );
  return { ok: true, details: [`${pod.metadata.name} restarted and the task was read back`] };
}

/**
 * Deletes a pod of `component` and polls until a new one is ready, one request and one pod read
 * per poll. `answers` is one request through the app's entry that needs the component to answer.
 */
export async function selfHealDrill(t: DrillTarget, component: string, answers: (call: ReturnType<typeof httpClient>) => Promise<boolean>): Promise<CheckOutcome> {
  const componentPods = async () => (await releaseObjects(t.sn)).filter((x) => x.kind === 'Pod' && componentOf(x) === component);
  const before = await componentPods();
  const victim = before[0];
  if (!victim) return { ok: false, details: [`no ${component} pod found`] };
  const oldNames = new Set(before.map((p) => p.metadata.name));
  await t.sn.tools.kubectl.deletePod(t.sn.context, t.sn.scope.namespace, victim.metadata.name);
  t.log(`  deleted ${victim.metadata.name}; sending requests until a replacement is ready…`);

  const call = httpClient(t.url, REQUEST_TIMEOUT);
  let answered = 0;
  let failed = 0;
  const replacement = await waitFor(
    async () => {
      if (await answers(call).catch(() => false)) answered++;
      else failed++;
      return (await componentPods()).find((p) => !oldNames.has(p.metadata.name) && isReady(p));
    },
    {
      timeout: DRILL_TIMEOUT,
      interval: 250,
      describe: `a replacement ${component} pod`,
      onTimeout: () => new UserError(`no replacement ready within 3 minutes (${answered} ok, ${failed} failed requests)`),
    },
  );
  const detail = `${replacement.metadata.name} ready; ${answered} requests answered, ${failed} failed meanwhile`;
  // With one replica a gap is expected; with more, any failed request means the Service sent traffic to a dead pod.
  if (failed > 0 && before.length > 1) return { ok: false, details: [detail] };
  return { ok: true, details: [failed > 0 ? `${detail} (one replica: scale --${component} 2 for no downtime)` : detail] };
}

/** The reference API's answer that proves its server is up: 401 on /auth/me without a token. */
export const tasksApiAnswers = async (call: ReturnType<typeof httpClient>) => (await call('GET', `${API}/auth/me`)).status === 401;
