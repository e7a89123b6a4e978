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
export type ChatAction = { tool: string; [key: string]: unknown };
export type ChatReply = { reply: string; actions: ChatAction[] };
type AuthResponse = { access_token: string; refresh_token: string; token_type: string; user: User };

const ACCESS_KEY = 'taskflow.access_token';
const REFRESH_KEY = 'taskflow.refresh_token';
const USER_KEY = 'taskflow.user';
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

type RequestOptions = { method?: string; body?: unknown; auth?: boolean };

export async function request<T>(path: string, { method = 'GET', body, auth = true }: RequestOptions = {}): Promise<T> {
  const send = async (): Promise<Response> => {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const token = accessToken();
    if (auth && token) headers.authorization = `Bearer ${token}`;
    try {
      return await fetch(`${API}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: 'no-store',
      });
    } catch {
      throw new ApiError(0, 'Cannot reach the server. Check your connection and try again.');
    }
  };

  let res = await send();
  if (res.status === 401 && auth && (await refreshSession())) res = await send();
  const data = await readJson(res);
  if (!res.ok) {
    if (res.status === 401 && auth) clearSession();
    throw new ApiError(res.status, describe(res.status, data));
  }
  return data as T;
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

export function chat(message: string): Promise<ChatReply> {
  return request<ChatReply>('/chat', { method: 'POST', body: { message } });
}
