// Browser-side client for the backend API: keeps the tokens, adds the bearer header and renews an expired access token once.

export type User = { id: number | string; email: string; name: string };
export type Task = {
  id: number | string;
  title: string;
  description: string | null;
  completed: boolean;
  created_at: string;
  updated_at: string;
};
export type ChatAction = { tool: string; task_id?: number; title?: string; [key: string]: unknown };
export type Conversation = { id: number; title: string; created_at: string; updated_at: string };
export type StoredMessage = {
  id: number;
  role: 'user' | 'assistant';
  content: string;
  actions: ChatAction[];
  /** The failed turn's code (e.g. "provider_error"); `content` is then the error the user was shown. */
  error: string | null;
  /** A failed turn that had streamed words: `content` is those words, cut off, then the error. */
  partial: boolean;
  offline: boolean;
  created_at: string;
};
/** The events of `POST /chat` with `Accept: text/event-stream`, as app/backend/README.md lists them. */
export type ChatEvent =
  | { event: 'start'; data: { conversation_id: number; offline: boolean; model: string | null; notice?: string } }
  | { event: 'tool_call'; data: { id: string; name: string; arguments: unknown } }
  | { event: 'tool_result'; data: { id: string; name: string; ok: boolean; summary: string } }
  | { event: 'tasks_changed'; data: { tool: string } }
  | { event: 'delta'; data: { text: string } }
  | {
      event: 'done';
      data: { conversation_id: number; reply: string; actions: ChatAction[]; offline: boolean; truncated?: boolean; notice?: string };
    }
  | {
      event: 'error';
      data: { code: string; message: string; conversation_id: number; actions: ChatAction[]; retry_after?: number; partial?: boolean };
    };
type AuthResponse = { access_token: string; refresh_token: string; token_type: string; user: User };

const ACCESS_KEY = 'taskflow.access_token';
const REFRESH_KEY = 'taskflow.refresh_token';
const USER_KEY = 'taskflow.user';
const CONVERSATION_KEY = 'taskflow.conversation';
const API = '/api/v1';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

function store(): Storage | undefined {
  return typeof window === 'undefined' ? undefined : window.localStorage;
}

export function accessToken(): string | null {
  return store()?.getItem(ACCESS_KEY) ?? null;
}

export function storedUser(): User | null {
  const raw = store()?.getItem(USER_KEY);
  if (!raw) return null;
  try {
    return JSON.parse(raw) as User;
  } catch {
    return null;
  }
}

function saveSession(auth: Partial<AuthResponse>): void {
  const s = store();
  if (!s) return;
  if (auth.access_token) s.setItem(ACCESS_KEY, auth.access_token);
  if (auth.refresh_token) s.setItem(REFRESH_KEY, auth.refresh_token);
  if (auth.user) s.setItem(USER_KEY, JSON.stringify(auth.user));
}

export function clearSession(): void {
  const s = store();
  s?.removeItem(ACCESS_KEY);
  s?.removeItem(REFRESH_KEY);
  s?.removeItem(USER_KEY);
  s?.removeItem(CONVERSATION_KEY);
}

/** The conversation the chat panel showed last, so a visit without `?c=` in the address opens it again. */
export function lastConversation(): number | null {
  const id = Number(store()?.getItem(CONVERSATION_KEY));
  return Number.isSafeInteger(id) && id > 0 ? id : null;
}

export function rememberConversation(id: number | null): void {
  if (id === null) store()?.removeItem(CONVERSATION_KEY);
  else store()?.setItem(CONVERSATION_KEY, String(id));
}

/** Turns FastAPI's `{detail}` (a string, or a list of validation errors) into one readable sentence. */
function describe(status: number, body: unknown): string {
  const detail = (body as { detail?: unknown } | null)?.detail;
  if (status >= 502 && status <= 504) {
    return `The service is unavailable right now${typeof detail === 'string' ? ` (${detail})` : ''}. Please try again shortly.`;
  }
  if (typeof detail === 'string' && detail) return detail;
  if (Array.isArray(detail) && detail.length > 0) {
    return detail
      .map((d) => {
        const item = d as { msg?: string; loc?: unknown[] };
        const field = Array.isArray(item.loc) ? item.loc.filter((p) => p !== 'body').join('.') : '';
        return field ? `${field}: ${item.msg ?? 'invalid'}` : (item.msg ?? 'invalid value');
      })
      .join('; ');
  }
  return status >= 500 ? 'The server is having trouble; please try again.' : `Request failed (${status})`;
}

async function readJson(res: Response): Promise<unknown> {
  if (res.status === 204) return null;
  const text = await res.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

let refreshing: Promise<boolean> | null = null;

/** Trades the refresh token for a new access token; concurrent callers share one attempt. */
async function refreshSession(): Promise<boolean> {
  const refresh = store()?.getItem(REFRESH_KEY);
  if (!refresh) return false;
  refreshing ??= (async () => {
    try {
      const res = await fetch(`${API}/auth/refresh`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ refresh_token: refresh }),
      });
      if (!res.ok) return false;
      saveSession((await readJson(res)) as Partial<AuthResponse>);
      return true;
    } catch {
      return false;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

type RequestOptions = { method?: string; body?: unknown; auth?: boolean; accept?: string; signal?: AbortSignal };

/** Sends one request with the bearer token, renewing an expired access token once; any status is returned as it is. */
async function send(path: string, { method = 'GET', body, auth = true, accept = 'application/json', signal }: RequestOptions): Promise<Response> {
  const attempt = async (): Promise<Response> => {
    const headers: Record<string, string> = { accept };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const token = accessToken();
    if (auth && token) headers.authorization = `Bearer ${token}`;
    try {
      return await fetch(`${API}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: 'no-store',
        signal,
      });
    } catch (err) {
      if (signal?.aborted) throw err;
      throw new ApiError(0, 'Cannot reach the server. Check your connection and try again.');
    }
  };
  let res = await attempt();
  if (res.status === 401 && auth && (await refreshSession())) res = await attempt();
  return res;
}

async function failure(res: Response, auth: boolean): Promise<ApiError> {
  const data = await readJson(res);
  if (res.status === 401 && auth) clearSession();
  return new ApiError(res.status, describe(res.status, data));
}

export async function request<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const res = await send(path, options);
  if (!res.ok) throw await failure(res, options.auth ?? true);
  return (await readJson(res)) as T;
}

export async function signup(name: string, email: string, password: string): Promise<User> {
  const auth = await request<AuthResponse>('/auth/signup', { method: 'POST', body: { email, password, name }, auth: false });
  saveSession(auth);
  return auth.user;
}

export async function login(email: string, password: string): Promise<User> {
  const auth = await request<AuthResponse>('/auth/login', { method: 'POST', body: { email, password }, auth: false });
  saveSession(auth);
  return auth.user;
}

export async function me(): Promise<User> {
  const user = await request<User>('/auth/me');
  saveSession({ user });
  return user;
}

/** Revokes the refresh token on the server (best effort) and forgets the session locally either way. */
export async function logout(): Promise<void> {
  const refresh = store()?.getItem(REFRESH_KEY);
  try {
    if (refresh) await request<unknown>('/auth/logout', { method: 'POST', body: { refresh_token: refresh } });
  } catch {
    // The local session ends regardless; an already-expired token is not the user's problem.
  } finally {
    clearSession();
  }
}

export const tasks = {
  list: () => request<Task[]>('/tasks'),
  create: (title: string, description?: string) =>
    request<Task>('/tasks', { method: 'POST', body: description ? { title, description } : { title } }),
  update: (id: Task['id'], changes: Partial<Pick<Task, 'title' | 'description' | 'completed'>>) =>
    request<Task>(`/tasks/${encodeURIComponent(String(id))}`, { method: 'PUT', body: changes }),
  remove: (id: Task['id']) => request<null>(`/tasks/${encodeURIComponent(String(id))}`, { method: 'DELETE' }),
};

export const conversations = {
  list: () => request<Conversation[]>('/conversations'),
  messages: (id: number) => request<StoredMessage[]>(`/conversations/${encodeURIComponent(String(id))}/messages`),
};

/** Splits a server-sent event stream into events as its bytes arrive (WHATWG HTML, "Server-sent events"). */
async function* readEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<{ event: string; data: string }> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffered = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    // CRLF may be split across reads, so normalise the whole buffer; lone CR line ends are not used by the backend.
    buffered = (buffered + decoder.decode(value, { stream: true })).replace(/\r\n/g, '\n');
    let end: number;
    while ((end = buffered.indexOf('\n\n')) >= 0) {
      const block = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      if (data.length) yield { event, data: data.join('\n') };
    }
  }
}

/**
 * Sends a chat message and hands each event of the streamed answer to `onEvent` as it arrives.
 * Resolves after `done` or `error`; throws ApiError when the request is refused or the stream breaks off.
 */
export async function streamChat(
  message: string,
  conversationId: number | null,
  onEvent: (event: ChatEvent) => void,
  signal?: AbortSignal,
): Promise<void> {
  const body = conversationId === null ? { message } : { message, conversation_id: conversationId };
  const res = await send('/chat', { method: 'POST', body, accept: 'text/event-stream', signal });
  if (!res.ok) throw await failure(res, true);
  if (!res.body || !(res.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
    throw new ApiError(res.status, 'The server answered without streaming; the assistant could not be reached properly.');
  }
  for await (const { event, data } of readEvents(res.body)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch {
      continue;
    }
    onEvent({ event, data: parsed } as ChatEvent);
    if (event === 'done' || event === 'error') return;
  }
  throw new ApiError(0, 'The connection closed before the answer was complete. Please try again.');
}
