// The HTTP smoke workflow: health, sign-up, login, task CRUD, chatbot, user isolation and logout,
// run against one base URL (local app, port-forward or ingress), stopping at the first failure.
import { randomBytes } from 'node:crypto';
import { httpClient, type Reply } from '../core/http.ts';

export type SmokeStep = {
  name: string;
  ok: boolean;
  ms: number;
  /** On failure: the request, the status code and the start of the body. */
  evidence?: string;
};

export type SmokeReport = {
  ok: boolean;
  baseUrl: string;
  steps: SmokeStep[];
  /** The name of the step that failed, when one did. */
  failed?: string;
  ms: number;
};

export type SmokeOptions = {
  /** GET path that must answer 200: the entry component's readiness path. */
  healthPath?: string;
  /** Where the API lives under the base URL. */
  apiPrefix?: string;
  /** Per request. */
  timeoutMs?: number;
  /** Called as each step finishes, for progress output. */
  onStep?: (step: SmokeStep) => void;
};

/** Every step, in order; names are stable so callers and tests can refer to them. */
export const smokeStepNames = [
  'health',
  'sign up',
  'log in',
  'create task',
  'list shows the task',
  'update title',
  'complete task',
  'delete task',
  'deleted task is gone',
  'chatbot adds a task',
  'user isolation',
  'log out',
  'old access token refused',
  'old refresh token refused',
] as const;
export type SmokeStepName = (typeof smokeStepNames)[number];

type Task = { id: number; title: string; completed: boolean };
type Auth = { access_token: string; refresh_token: string; token_type: string; user: { email: string } };

/** A step's failure: what was expected, and the reply that showed otherwise. */
class StepFailure extends Error {
  constructor(
    message: string,
    readonly reply?: Reply,
  ) {
    super(message);
  }
}

const BODY_SHOWN = 200;

/** Tokens never belong in a report, even one printed after a failure. */
function redact(text: string): string {
  return text.replace(/eyJ[\w-]+\.[\w-]+\.[\w-]+/g, '***');
}

function evidenceOf(err: unknown): string {
  if (err instanceof StepFailure) {
    if (!err.reply) return err.message;
    const r = err.reply;
    const body = r.text.replace(/\s+/g, ' ').trim();
    const shown = body.length > BODY_SHOWN ? `${body.slice(0, BODY_SHOWN)}…` : body;
    return redact(`${err.message}: ${r.method} ${r.path} → ${r.status}${shown ? ` ${shown}` : ''}`);
  }
  const e = err as Error & { cause?: { code?: string; message?: string } };
  const cause = e.cause?.code ?? e.cause?.message;
  return redact(`${e.message}${cause ? ` (${cause})` : ''}`);
}

function isAuth(v: unknown): v is Auth {
  const a = v as Partial<Auth> | null;
  return typeof a?.access_token === 'string' && typeof a.refresh_token === 'string' && typeof a.token_type === 'string' && typeof a.user?.email === 'string';
}

function isTask(v: unknown): v is Task {
  const t = v as Partial<Task> | null;
  return typeof t?.id === 'number' && typeof t.title === 'string' && typeof t.completed === 'boolean';
}

function tasksOf(r: Reply): Task[] {
  if (!Array.isArray(r.json) || !r.json.every(isTask)) throw new StepFailure('expected a JSON list of tasks', r);
  return r.json;
}

/** Runs the workflow against baseUrl and reports every step run, stopping at the first failure. Never throws. */
export async function runSmoke(baseUrl: string, opts: SmokeOptions = {}): Promise<SmokeReport> {
  const base = baseUrl.replace(/\/+$/, '');
  const api = (opts.apiPrefix ?? '/api/v1').replace(/\/+$/, '');
  const run = randomBytes(4).toString('hex');
  const started = Date.now();
  const steps: SmokeStep[] = [];

  const call = httpClient(baseUrl, opts.timeoutMs ?? 15_000);

  function expectStatus(r: Reply, ...wanted: number[]): Reply {
    if (!wanted.includes(r.status)) throw new StepFailure(`expected ${wanted.join(' or ')}`, r);
    return r;
  }

  async function step(name: SmokeStepName, body: () => Promise<void>): Promise<boolean> {
    const t0 = Date.now();
    let rec: SmokeStep;
    try {
      await body();
      rec = { name, ok: true, ms: Date.now() - t0 };
    } catch (err) {
      rec = { name, ok: false, ms: Date.now() - t0, evidence: evidenceOf(err) };
    }
    steps.push(rec);
    opts.onStep?.(rec);
    return rec.ok;
  }

  const signup = async (who: string): Promise<{ auth: Auth; email: string; password: string }> => {
    const email = `smoke-${run}-${who}@example.com`;
    const password = randomBytes(12).toString('base64url');
    const r = expectStatus(await call('POST', `${api}/auth/signup`, { email, password, name: `Smoke ${who}` }), 201);
    if (!isAuth(r.json)) throw new StepFailure('expected {access_token, refresh_token, token_type, user}', r);
    if (r.json.user.email !== email) throw new StepFailure(`expected user.email ${email}`, r);
    return { auth: r.json, email, password };
  };

  let first: { email: string; password: string } | undefined;
  let session: Auth | undefined;
  let task: Task | undefined;
  let chatTask: Task | undefined;
  const title = `smoke ${run} task`;
  const renamed = `smoke ${run} renamed`;
  const chatTitle = `smoke ${run} via chat`;
  const token = () => session?.access_token ?? '';
  const list = async (bearer = token()) => tasksOf(expectStatus(await call('GET', `${api}/tasks`, undefined, bearer), 200));

  const ok =
    (await step('health', async () => {
      expectStatus(await call('GET', opts.healthPath ?? '/api/health'), 200);
    })) &&
    (await step('sign up', async () => {
      const s = await signup('a');
      first = { email: s.email, password: s.password };
    })) &&
    (await step('log in', async () => {
      const r = expectStatus(await call('POST', `${api}/auth/login`, { email: first?.email, password: first?.password }), 200);
      if (!isAuth(r.json)) throw new StepFailure('expected {access_token, refresh_token, token_type, user}', r);
      session = r.json;
      // The workflow goes on with the login's tokens, so a login that hands out dead tokens shows up.
      expectStatus(await call('GET', `${api}/auth/me`, undefined, token()), 200);
    })) &&
    (await step('create task', async () => {
      const r = expectStatus(await call('POST', `${api}/tasks`, { title, description: 'made by the smoke check' }, token()), 201);
      if (!isTask(r.json) || r.json.title !== title || r.json.completed) throw new StepFailure(`expected an open task titled "${title}"`, r);
      task = r.json;
    })) &&
    (await step('list shows the task', async () => {
      const tasks = await list();
      if (!tasks.some((t) => t.id === task?.id && t.title === title)) throw new StepFailure(`task ${task?.id} "${title}" is not in GET ${api}/tasks (${tasks.length} tasks)`);
    })) &&
    (await step('update title', async () => {
      const r = expectStatus(await call('PUT', `${api}/tasks/${task?.id}`, { title: renamed }, token()), 200);
      if (!isTask(r.json) || r.json.title !== renamed) throw new StepFailure(`expected the title "${renamed}"`, r);
    })) &&
    (await step('complete task', async () => {
      const r = expectStatus(await call('PUT', `${api}/tasks/${task?.id}`, { completed: true }, token()), 200);
      if (!isTask(r.json) || r.json.completed !== true) throw new StepFailure('expected completed: true', r);
      const listed = (await list()).find((t) => t.id === task?.id);
      if (!listed?.completed) throw new StepFailure(`GET ${api}/tasks does not show task ${task?.id} completed`);
    })) &&
    (await step('delete task', async () => {
      expectStatus(await call('DELETE', `${api}/tasks/${task?.id}`, undefined, token()), 204);
    })) &&
    (await step('deleted task is gone', async () => {
      if ((await list()).some((t) => t.id === task?.id)) throw new StepFailure(`task ${task?.id} is still in GET ${api}/tasks`);
      expectStatus(await call('PUT', `${api}/tasks/${task?.id}`, { title: renamed }, token()), 404);
    })) &&
    (await step('chatbot adds a task', async () => {
      const r = expectStatus(await call('POST', `${api}/chat`, { message: `add task ${chatTitle}` }, token()), 200);
      const reply = r.json as { reply?: unknown; actions?: { tool?: unknown }[] } | undefined;
      if (typeof reply?.reply !== 'string' || !Array.isArray(reply.actions)) throw new StepFailure('expected {reply, actions}', r);
      if (!reply.actions.some((a) => typeof a?.tool === 'string')) throw new StepFailure('expected an action naming its tool', r);
      chatTask = (await list()).find((t) => t.title.toLowerCase().includes(chatTitle.toLowerCase()));
      if (!chatTask) throw new StepFailure(`the chat said "${String(reply.reply).slice(0, 80)}" but no task "${chatTitle}" is in GET ${api}/tasks`);
    })) &&
    (await step('user isolation', async () => {
      const other = (await signup('b')).auth.access_token;
      const seen = await list(other);
      if (seen.some((t) => t.id === chatTask?.id)) throw new StepFailure(`a second user sees the first user's task ${chatTask?.id} in GET ${api}/tasks`);
      expectStatus(await call('PUT', `${api}/tasks/${chatTask?.id}`, { title: 'taken over' }, other), 404);
      expectStatus(await call('DELETE', `${api}/tasks/${chatTask?.id}`, undefined, other), 404);
      const mine = (await list()).find((t) => t.id === chatTask?.id);
      if (!mine || mine.title !== chatTask?.title) throw new StepFailure(`the second user changed or deleted task ${chatTask?.id}`);
    })) &&
    (await step('log out', async () => {
      expectStatus(await call('POST', `${api}/auth/logout`, { refresh_token: session?.refresh_token }, token()), 200, 204);
    })) &&
    (await step('old access token refused', async () => {
      expectStatus(await call('GET', `${api}/auth/me`, undefined, token()), 401);
    })) &&
    (await step('old refresh token refused', async () => {
      expectStatus(await call('POST', `${api}/auth/refresh`, { refresh_token: session?.refresh_token }), 401);
    }));

  const failed = steps.find((s) => !s.ok)?.name;
  return { ok, baseUrl: base, steps, ...(failed ? { failed } : {}), ms: Date.now() - started };
}

/** One line per step, e.g. "✔ create task 12ms" or "✖ create task 8ms: expected 201: POST … → 500 …". */
export function formatSmokeStep(step: SmokeStep): string {
  return `${step.ok ? '✔' : '✖'} ${step.name} ${step.ms}ms${step.evidence ? `: ${step.evidence}` : ''}`;
}
