'use client';
// The assistant: streams each answer as it is written, shows the tools it runs, reloads the task list when they
// change tasks, and keeps conversations (listed, reopened, and kept across a reload through `?c=` in the address).
import { type FormEvent, useCallback, useEffect, useRef, useState } from 'react';
import {
  ApiError,
  type ChatAction,
  type ChatEvent,
  type Conversation,
  conversations as conversationsApi,
  lastConversation,
  rememberConversation,
  type StoredMessage,
  streamChat,
} from '@/lib/api';

type ToolStep = { id: string; name: string; ok?: boolean; summary?: string };
type Message = {
  key: number;
  role: 'user' | 'assistant' | 'error';
  text: string;
  /** The tool calls of a turn seen live; a stored turn has only its `actions`. */
  tools: ToolStep[];
  actions: ChatAction[];
  offline: boolean;
  /** For an error: the backend's code, e.g. "provider_error". */
  code?: string;
  truncated?: boolean;
};

const EXAMPLES = ['add task buy milk', 'list my tasks', 'complete task 1', 'delete task 1'];

type Props = { onTasksChanged: () => Promise<void> | void; onError: (err: unknown) => void };

function conversationInUrl(): number | null {
  const id = Number(new URLSearchParams(window.location.search).get('c'));
  return Number.isSafeInteger(id) && id > 0 ? id : null;
}

/** Puts the open conversation in the address (replacing, not adding, a history entry) and in localStorage. */
function showConversation(id: number | null): void {
  const url = new URL(window.location.href);
  if (id === null) url.searchParams.delete('c');
  else url.searchParams.set('c', String(id));
  window.history.replaceState(null, '', url);
  rememberConversation(id);
}

function describeAction(action: ChatAction): string {
  const id = action.task_id !== undefined ? ` #${action.task_id}` : '';
  const title = typeof action.title === 'string' ? ` "${action.title}"` : '';
  return `${action.tool}${id}${title}`;
}

function fromStored(m: StoredMessage): Omit<Message, 'key'> {
  return {
    role: m.error ? 'error' : m.role,
    text: m.content,
    tools: [],
    actions: Array.isArray(m.actions) ? m.actions : [],
    offline: m.offline,
    code: m.error ?? undefined,
  };
}

export default function ChatPanel({ onTasksChanged, onError }: Props) {
  const [messages, setMessages] = useState<Message[]>([]);
  const [history, setHistory] = useState<Conversation[]>([]);
  const [conversationId, setConversationId] = useState<number | null>(null);
  const [offline, setOffline] = useState(false);
  const [input, setInput] = useState('');
  const [pending, setPending] = useState(false);
  const [loading, setLoading] = useState(false);
  const nextKey = useRef(1);
  const current = useRef<number | null>(null);
  const inFlight = useRef<AbortController | null>(null);
  const bottom = useRef<HTMLDivElement>(null);

  useEffect(() => {
    bottom.current?.scrollIntoView({ block: 'end' });
  }, [messages, pending]);

  const keyed = (m: Omit<Message, 'key'>): Message => ({ ...m, key: nextKey.current++ });

  const refreshHistory = useCallback(async () => {
    try {
      setHistory(await conversationsApi.list());
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) onError(err);
      // Otherwise the list is only a convenience; the chat itself still works.
    }
  }, [onError]);

  const open = useCallback(
    async (id: number | null) => {
      current.current = id;
      setConversationId(id);
      setOffline(false);
      showConversation(id);
      if (id === null) {
        setMessages([]);
        setLoading(false);
        return;
      }
      setLoading(true);
      try {
        const stored = await conversationsApi.messages(id);
        if (current.current !== id) return;
        setMessages(stored.map((m) => keyed(fromStored(m))));
      } catch (err) {
        if (current.current !== id) return;
        if (err instanceof ApiError && err.status === 404) {
          // Deleted, or someone else's (an old address, another user on this browser): start afresh.
          current.current = null;
          setConversationId(null);
          showConversation(null);
          setMessages([]);
          setLoading(false);
        } else if (err instanceof ApiError && err.status === 401) {
          onError(err);
        } else {
          setMessages([keyed({ role: 'error', text: err instanceof Error ? err.message : String(err), tools: [], actions: [], offline: false })]);
        }
      } finally {
        if (current.current === id) setLoading(false);
      }
    },
    [onError],
  );

  // Once, on mount: reopening on every render would wipe an answer being streamed.
  useEffect(() => {
    void open(conversationInUrl() ?? lastConversation());
    void refreshHistory();
    return () => inFlight.current?.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  async function send(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const text = input.trim();
    if (!text || pending) return;
    const user = keyed({ role: 'user', text, tools: [], actions: [], offline: false });
    const answer = keyed({ role: 'assistant', text: '', tools: [], actions: [], offline: false });
    setMessages((list) => [...list, user, answer]);
    setInput('');
    setPending(true);
    const update = (change: (m: Message) => Message) =>
      setMessages((list) => list.map((m) => (m.key === answer.key ? change(m) : m)));
    const abort = new AbortController();
    inFlight.current = abort;

    const onEvent = (ev: ChatEvent) => {
      switch (ev.event) {
        case 'start':
          if (current.current !== ev.data.conversation_id) {
            current.current = ev.data.conversation_id;
            setConversationId(ev.data.conversation_id);
            showConversation(ev.data.conversation_id);
          }
          setOffline(ev.data.offline);
          update((m) => ({ ...m, offline: ev.data.offline }));
          break;
        case 'tool_call':
          update((m) => ({ ...m, tools: [...m.tools, { id: ev.data.id, name: ev.data.name }] }));
          break;
        case 'tool_result': {
          const { id, name, ok, summary } = ev.data;
          update((m) => ({
            ...m,
            tools: m.tools.some((t) => t.id === id)
              ? m.tools.map((t) => (t.id === id ? { ...t, ok, summary } : t))
              : [...m.tools, { id, name, ok, summary }],
          }));
          break;
        }
        case 'tasks_changed':
          void onTasksChanged();
          break;
        case 'delta':
          update((m) => ({ ...m, text: m.text + ev.data.text }));
          break;
        case 'done':
          update((m) => ({ ...m, text: ev.data.reply || m.text, actions: ev.data.actions ?? [], truncated: ev.data.truncated }));
          break;
        case 'error':
          // The provider's (or the task server's) own reason as the backend worded it (a rate limit's message already
          // says when to retry): never a stand-in answer.
          // A partial answer stays in view above the error, as a reload of the conversation shows it.
          update((m) => ({ ...m, role: 'error', text: ev.data.partial ? `${m.text.trimEnd()}\n\n${ev.data.message}` : ev.data.message, code: ev.data.code }));
          break;
      }
    };

    try {
      await streamChat(text, current.current, onEvent, abort.signal);
    } catch (err) {
      if (abort.signal.aborted) return;
      update((m) => ({ ...m, role: 'error', text: err instanceof Error ? err.message : String(err) }));
      if (err instanceof ApiError && err.status === 401) onError(err);
    } finally {
      if (inFlight.current === abort) inFlight.current = null;
      setPending(false);
      void refreshHistory();
    }
  }

  const last = messages.at(-1);
  const thinking = pending && last?.role === 'assistant' && !last.text && last.tools.length === 0;

  return (
    <section className="card panel chat" aria-labelledby="chat-heading" data-testid="chat-panel">
      <div className="panel-head">
        <h2 id="chat-heading">Assistant</h2>
        <span className="muted">Manage tasks in plain words</span>
      </div>
      <div className="chat-bar">
        <select
          data-testid="conversation-select"
          aria-label="Conversation"
          value={conversationId === null ? '' : String(conversationId)}
          disabled={pending}
          onChange={(e) => void open(e.target.value ? Number(e.target.value) : null)}
        >
          <option value="">New conversation</option>
          {conversationId !== null && !history.some((c) => c.id === conversationId) && (
            <option value={String(conversationId)}>Conversation #{conversationId}</option>
          )}
          {history.map((c) => (
            <option key={c.id} value={String(c.id)} data-testid="conversation-option">
              {c.title} · {new Date(c.updated_at).toLocaleString()}
            </option>
          ))}
        </select>
        <button
          className="button ghost small"
          type="button"
          data-testid="chat-new"
          disabled={pending || conversationId === null}
          onClick={() => void open(null)}
        >
          New chat
        </button>
      </div>
      {offline && (
        <div className="chat-notice" role="status" data-testid="chat-offline-notice">
          <strong>Offline assistant.</strong> No AI model is configured, so a simple rule-based assistant answers: it
          understands commands like &ldquo;add task …&rdquo;, &ldquo;list my tasks&rdquo; and &ldquo;complete task 3&rdquo;.
        </div>
      )}
      <div className="chat-log" data-testid="chat-messages" aria-live="polite" aria-busy={loading || pending}>
        {messages.length === 0 && !loading && (
          <div className="chat-hint muted" data-testid="chat-hint">
            <p>Try one of these:</p>
            <div className="chips">
              {EXAMPLES.map((example) => (
                <button key={example} type="button" className="chip" onClick={() => setInput(example)}>
                  {example}
                </button>
              ))}
            </div>
          </div>
        )}
        {loading && <p className="muted">Loading the conversation…</p>}
        {messages.map((m) =>
          m.role === 'assistant' && !m.text && m.tools.length === 0 && m.actions.length === 0 ? null : (
            <div key={m.key} className={`bubble ${m.role}`} data-testid="chat-message" data-role={m.role} data-code={m.code}>
              {m.offline && m.role !== 'user' && <span className="bubble-label">Offline assistant</span>}
              {m.tools.length > 0 && (
                <ul className="tool-steps">
                  {m.tools.map((t) => (
                    <li
                      key={t.id}
                      data-testid="chat-tool"
                      data-tool={t.name}
                      data-state={t.ok === undefined ? 'running' : t.ok ? 'ok' : 'failed'}
                      className={t.ok === false ? 'failed' : undefined}
                    >
                      <code>{t.name}</code> <span>{t.summary ?? 'running…'}</span>
                    </li>
                  ))}
                </ul>
              )}
              {m.text && <p>{m.text}</p>}
              {m.tools.length === 0 && m.actions.length > 0 && (
                <div className="chips">
                  {m.actions.map((a, i) => (
                    <span key={i} className="chip action" data-testid="chat-action">
                      {describeAction(a)}
                    </span>
                  ))}
                </div>
              )}
              {m.truncated && <span className="bubble-label">The answer was cut off at its length limit.</span>}
              {m.role === 'error' && m.code && <span className="bubble-label">{m.code}</span>}
            </div>
          ),
        )}
        {thinking && (
          <div className="bubble assistant pending" data-testid="chat-pending">
            <p>Thinking…</p>
          </div>
        )}
        <div ref={bottom} />
      </div>
      <form className="chat-form" onSubmit={send}>
        <input
          data-testid="chat-input"
          aria-label="Message the assistant"
          placeholder='e.g. "add task call the dentist"'
          maxLength={2000}
          value={input}
          onChange={(e) => setInput(e.target.value)}
        />
        <button className="button primary" type="submit" data-testid="chat-send" disabled={pending || loading || !input.trim()}>
          Send
        </button>
      </form>
    </section>
  );
}
