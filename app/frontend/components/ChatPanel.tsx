'use client';
// The chatbot: the user types a request, the assistant answers and may change tasks, after which the list reloads.
import { type FormEvent, useEffect, useRef, useState } from 'react';
import { type ChatAction, chat } from '@/lib/api';

type Message = { id: number; role: 'user' | 'assistant' | 'error'; text: string; actions?: ChatAction[] };

const EXAMPLES = ['add task buy milk', 'list my tasks', 'complete task 1', 'delete task 1'];

type Props = { onReply: () => Promise<void> | void; onError: (err: unknown) => void };

export default function ChatPanel({ onReply, onError }: Props) {
  const [messages, setMessages] = useState<Message[]>([]);
  const [input, setInput] = useState('');
  const [pending, setPending] = useState(false);
  const nextId = useRef(1);
  const bottom = useRef<HTMLDivElement>(null);

  useEffect(() => {
    bottom.current?.scrollIntoView({ block: 'end' });
  }, [messages, pending]);

  const push = (m: Omit<Message, 'id'>) => setMessages((list) => [...list, { ...m, id: nextId.current++ }]);

  async function send(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const text = input.trim();
    if (!text || pending) return;
    push({ role: 'user', text });
    setInput('');
    setPending(true);
    try {
      const res = await chat(text);
      push({ role: 'assistant', text: res.reply, actions: Array.isArray(res.actions) ? res.actions : [] });
      // The reply may have added, completed or deleted tasks: show the list as it now is.
      await onReply();
    } catch (err) {
      push({ role: 'error', text: err instanceof Error ? err.message : String(err) });
      if ((err as { status?: number }).status === 401) onError(err);
    } finally {
      setPending(false);
    }
  }

  return (
    <section className="card panel chat" aria-labelledby="chat-heading" data-testid="chat-panel">
      <div className="panel-head">
        <h2 id="chat-heading">Assistant</h2>
        <span className="muted">Manage tasks in plain words</span>
      </div>
      <div className="chat-log" data-testid="chat-messages" aria-live="polite">
        {messages.length === 0 && (
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
        {messages.map((m) => (
          <div key={m.id} className={`bubble ${m.role}`} data-testid="chat-message" data-role={m.role}>
            <p>{m.text}</p>
            {m.actions && m.actions.length > 0 && (
              <div className="chips">
                {m.actions.map((a, i) => (
                  <span key={i} className="chip action" data-testid="chat-action">
                    {a.tool}
                  </span>
                ))}
              </div>
            )}
          </div>
        ))}
        {pending && (
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
        <button className="button primary" type="submit" data-testid="chat-send" disabled={pending || !input.trim()}>
          Send
        </button>
      </form>
    </section>
  );
}
