// The HTTP smoke workflow: health, sign-up, login, task CRUD, chatbot, user isolation and logout,
// run against one base URL (local app, port-forward or ingress), stopping at the first failure.
import { randomBytes } from 'node:crypto';
import { httpClient, type HttpCall, type Reply } from '../core/http.ts';

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

/** What the steps share: the client, this run's names, and what earlier steps made for later ones. */
type Flow = {
  call: HttpCall;
  api: string;
  healthPath: string;
  /** Marks this run's users and tasks, so runs against the same app do not meet. */
  run: string;
  title: string;
  renamed: string;
  chatTitle: string;
  first?: { email: string; password: string };
  session?: Auth;
  task?: Task;
  chatTask?: Task;
};

/** Any other status fails the step, quoting the reply. */
function expectStatus(r: Reply, ...wanted: number[]): Reply {
  if (!wanted.includes(r.status)) throw new StepFailure(`expected ${wanted.join(' or ')}`, r);
  return r;
}

/** The logged-in user's access token; empty before login, so the request goes out and is refused. */
function token(f: Flow): string {
  return f.session?.access_token ?? '';
}

/** The tasks one user sees (the logged-in one unless told), checked to be a list of tasks. */
async function listTasks(f: Flow, bearer = token(f)): Promise<Task[]> {
  return tasksOf(expectStatus(await f.call('GET', `${f.api}/tasks`, undefined, bearer), 200));
}

/** Signs a new user up: the reply must hand out tokens for that very user. */
async function signUp(f: Flow, who: string): Promise<{ auth: Auth; email: string; password: string }> {
  const email = `smoke-${f.run}-${who}@example.com`;
  const password = randomBytes(12).toString('base64url');
  const r = expectStatus(await f.call('POST', `${f.api}/auth/signup`, { email, password, name: `Smoke ${who}` }), 201);
  if (!isAuth(r.json)) throw new StepFailure('expected {access_token, refresh_token, token_type, user}', r);
  if (r.json.user.email !== email) throw new StepFailure(`expected user.email ${email}`, r);
  return { auth: r.json, email, password };
}

/** Each step's body by name, so the order lives in smokeStepNames alone; a body throws to fail its step. */
const STEPS: Record<SmokeStepName, (f: Flow) => Promise<void>> = {
  health: async (f) => {
    expectStatus(await f.call('GET', f.healthPath), 200);
  },
  'sign up': async (f) => {
    const s = await signUp(f, 'a');
    f.first = { email: s.email, password: s.password };
  },
  'log in': async (f) => {
    const r = expectStatus(await f.call('POST', `${f.api}/auth/login`, { email: f.first?.email, password: f.first?.password }), 200);
    if (!isAuth(r.json)) throw new StepFailure('expected {access_token, refresh_token, token_type, user}', r);
    f.session = r.json;
    // The workflow goes on with the login's tokens, so a login that hands out dead tokens shows up.
    expectStatus(await f.call('GET', `${f.api}/auth/me`, undefined, token(f)), 200);
  },
  'create task': async (f) => {
    const r = expectStatus(await f.call('POST', `${f.api}/tasks`, { title: f.title, description: 'made by the smoke check' }, token(f)), 201);
    if (!isTask(r.json) || r.json.title !== f.title || r.json.completed) throw new StepFailure(`expected an open task titled "${f.title}"`, r);
    f.task = r.json;
  },
  'list shows the task': async (f) => {
    const tasks = await listTasks(f);
    if (!tasks.some((t) => t.id === f.task?.id && t.title === f.title)) throw new StepFailure(`task ${f.task?.id} "${f.title}" is not in GET ${f.api}/tasks (${tasks.length} tasks)`);
  },
  'update title': async (f) => {
    const r = expectStatus(await f.call('PUT', `${f.api}/tasks/${f.task?.id}`, { title: f.renamed }, token(f)), 200);
    if (!isTask(r.json) || r.json.title !== f.renamed) throw new StepFailure(`expected the title "${f.renamed}"`, r);
  },
  'complete task': async (f) => {
    const r = expectStatus(await f.call('PUT', `${f.api}/tasks/${f.task?.id}`, { completed: true }, token(f)), 200);
    if (!isTask(r.json) || r.json.completed !== true) throw new StepFailure('expected completed: true', r);
    const listed = (await listTasks(f)).find((t) => t.id === f.task?.id);
    if (!listed?.completed) throw new StepFailure(`GET ${f.api}/tasks does not show task ${f.task?.id} completed`);
  },
  'delete task': async (f) => {
    expectStatus(await f.call('DELETE', `${f.api}/tasks/${f.task?.id}`, undefined, token(f)), 204);
  },
  'deleted task is gone': async (f) => {
    if ((await listTasks(f)).some((t) => t.id === f.task?.id)) throw new StepFailure(`task ${f.task?.id} is still in GET ${f.api}/tasks`);
    expectStatus(await f.call('PUT', `${f.api}/tasks/${f.task?.id}`, { title: f.renamed }, token(f)), 404);
  },
  'chatbot adds a task': async (f) => {
    const r = expectStatus(await f.call('POST', `${f.api}/chat`, { message: `add task ${f.chatTitle}` }, token(f)), 200);
    const reply = r.json as { reply?: unknown; actions?: { tool?: unknown }[] } | undefined;
    if (typeof reply?.reply !== 'string' || !Array.isArray(reply.actions)) throw new StepFailure('expected {reply, actions}', r);
    if (!reply.actions.some((a) => typeof a?.tool === 'string')) throw new StepFailure('expected an action naming its tool', r);
    f.chatTask = (await listTasks(f)).find((t) => t.title.toLowerCase().includes(f.chatTitle.toLowerCase()));
    if (!f.chatTask) throw new StepFailure(`the chat said "${String(reply.reply).slice(0, 80)}" but no task "${f.chatTitle}" is in GET ${f.api}/tasks`);
  },
  'user isolation': async (f) => {
    const other = (await signUp(f, 'b')).auth.access_token;
    const seen = await listTasks(f, other);
    if (seen.some((t) => t.id === f.chatTask?.id)) throw new StepFailure(`a second user sees the first user's task ${f.chatTask?.id} in GET ${f.api}/tasks`);
    expectStatus(await f.call('PUT', `${f.api}/tasks/${f.chatTask?.id}`, { title: 'taken over' }, other), 404);
    expectStatus(await f.call('DELETE', `${f.api}/tasks/${f.chatTask?.id}`, undefined, other), 404);
    const mine = (await listTasks(f)).find((t) => t.id === f.chatTask?.id);
    if (!mine || mine.title !== f.chatTask?.title) throw new StepFailure(`the second user changed or deleted task ${f.chatTask?.id}`);
  },
  'log out': async (f) => {
    expectStatus(await f.call('POST', `${f.api}/auth/logout`, { refresh_token: f.session?.refresh_token }, token(f)), 200, 204);
  },
  'old access token refused': async (f) => {
    expectStatus(await f.call('GET', `${f.api}/auth/me`, undefined, token(f)), 401);
  },
  'old refresh token refused': async (f) => {
    expectStatus(await f.call('POST', `${f.api}/auth/refresh`, { refresh_token: f.session?.refresh_token }), 401);
  },
};

/** Runs one step's body and records it, a throw becoming the evidence of its failure. */
async function runStep(name: SmokeStepName, body: () => Promise<void>): Promise<SmokeStep> {
  const t0 = Date.now();
  try {
    await body();
    return { name, ok: true, ms: Date.now() - t0 };
  } catch (err) {
    return { name, ok: false, ms: Date.now() - t0, evidence: evidenceOf(err) };
  }
}

/** Runs the workflow against baseUrl and reports every step run, stopping at the first failure. Never throws. */
export async function runSmoke(baseUrl: string, opts: SmokeOptions = {}): Promise<SmokeReport> {
  const base = baseUrl.replace(/\/+$/, '');
  const run = randomBytes(4).toString('hex');
  const started = Date.now();
  const flow: Flow = {
    call: httpClient(baseUrl, opts.timeoutMs ?? 15_000),
    api: (opts.apiPrefix ?? '/api/v1').replace(/\/+$/, ''),
    healthPath: opts.healthPath ?? '/api/health',
    run,
    title: `smoke ${run} task`,
    renamed: `smoke ${run} renamed`,
    chatTitle: `smoke ${run} via chat`,
  };
  const steps: SmokeStep[] = [];
  for (const name of smokeStepNames) {
    const rec = await runStep(name, () => STEPS[name](flow));
    steps.push(rec);
    opts.onStep?.(rec);
    if (!rec.ok) break;
  }
  const failed = steps.find((s) => !s.ok)?.name;
  return { ok: failed === undefined, baseUrl: base, steps, ...(failed ? { failed } : {}), ms: Date.now() - started };
}

/** One line per step, e.g. "✔ create task 12ms" or "✖ create task 8ms: expected 201: POST … → 500 …". */
export function formatSmokeStep(step: SmokeStep): string {
  return `${step.ok ? '✔' : '✖'} ${step.name} ${step.ms}ms${step.evidence ? `: ${step.evidence}` : ''}`;
}
