'use client';
// The task list: add a task, tick it off, edit its title and description, or delete it.
import { type Dispatch, type FormEvent, type SetStateAction, useState } from 'react';
import { type Task, tasks as tasksApi } from '@/lib/api';

type Props = {
  tasks: Task[] | null;
  setTasks: Dispatch<SetStateAction<Task[] | null>>;
  onError: (err: unknown) => void;
};

export default function TaskPanel({ tasks, setTasks, onError }: Props) {
  const [title, setTitle] = useState('');
  const [description, setDescription] = useState('');
  const [adding, setAdding] = useState(false);

  async function add(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const t = title.trim();
    if (!t) return;
    setAdding(true);
    try {
      const created = await tasksApi.create(t, description.trim() || undefined);
      setTasks((list) => [...(list ?? []), created]);
      setTitle('');
      setDescription('');
    } catch (err) {
      onError(err);
    } finally {
      setAdding(false);
    }
  }

  const replace = (task: Task) => setTasks((list) => (list ?? []).map((t) => (t.id === task.id ? task : t)));
  const drop = (id: Task['id']) => setTasks((list) => (list ?? []).filter((t) => t.id !== id));

  const done = tasks?.filter((t) => t.completed).length ?? 0;
  const open = (tasks?.length ?? 0) - done;

  return (
    <section className="card panel" aria-labelledby="tasks-heading" data-testid="task-panel">
      <div className="panel-head">
        <h2 id="tasks-heading">Your tasks</h2>
        <span className="muted" data-testid="task-summary">
          {open} open · {done} done
        </span>
      </div>
      <form className="add-task" onSubmit={add} data-testid="add-task-form">
        <input
          data-testid="task-title-input"
          aria-label="New task title"
          placeholder="What needs doing?"
          maxLength={200}
          value={title}
          onChange={(e) => setTitle(e.target.value)}
        />
        <input
          data-testid="task-description-input"
          aria-label="New task description"
          placeholder="Details (optional)"
          maxLength={1000}
          value={description}
          onChange={(e) => setDescription(e.target.value)}
        />
        <button className="button primary" type="submit" data-testid="add-task-button" disabled={adding || !title.trim()}>
          {adding ? 'Adding…' : 'Add task'}
        </button>
      </form>
      {tasks === null ? (
        <p className="muted empty">Loading tasks…</p>
      ) : tasks.length === 0 ? (
        <p className="muted empty" data-testid="task-empty">
          No tasks yet. Add one above, or ask the assistant.
        </p>
      ) : (
        <ul className="task-list" data-testid="task-list">
          {tasks.map((task) => (
            <TaskItem key={task.id} task={task} onSaved={replace} onDeleted={drop} onError={onError} />
          ))}
        </ul>
      )}
    </section>
  );
}

type ItemProps = {
  task: Task;
  onSaved: (task: Task) => void;
  onDeleted: (id: Task['id']) => void;
  onError: (err: unknown) => void;
};

function TaskItem({ task, onSaved, onDeleted, onError }: ItemProps) {
  const [editing, setEditing] = useState(false);
  const [title, setTitle] = useState(task.title);
  const [description, setDescription] = useState(task.description ?? '');
  const [busy, setBusy] = useState(false);

  async function run(action: () => Promise<void>) {
    setBusy(true);
    try {
      await action();
    } catch (err) {
      onError(err);
    } finally {
      setBusy(false);
    }
  }

  const toggle = () => run(async () => onSaved(await tasksApi.update(task.id, { completed: !task.completed })));
  const remove = () =>
    run(async () => {
      await tasksApi.remove(task.id);
      onDeleted(task.id);
    });
  const save = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const t = title.trim();
    if (!t) return;
    void run(async () => {
      onSaved(await tasksApi.update(task.id, { title: t, description: description.trim() }));
      setEditing(false);
    });
  };
  const startEditing = () => {
    setTitle(task.title);
    setDescription(task.description ?? '');
    setEditing(true);
  };

  return (
    <li
      className={`task${task.completed ? ' done' : ''}`}
      data-testid="task-item"
      data-task-id={String(task.id)}
      data-completed={String(task.completed)}
    >
      {editing ? (
        <form className="task-edit" onSubmit={save}>
          <input
            data-testid="task-edit-title"
            aria-label="Task title"
            maxLength={200}
            value={title}
            onChange={(e) => setTitle(e.target.value)}
            autoFocus
          />
          <input
            data-testid="task-edit-description"
            aria-label="Task description"
            placeholder="Details (optional)"
            maxLength={1000}
            value={description}
            onChange={(e) => setDescription(e.target.value)}
          />
          <div className="task-actions">
            <button className="button primary small" type="submit" data-testid="task-save" disabled={busy || !title.trim()}>
              Save
            </button>
            <button className="button ghost small" type="button" data-testid="task-cancel" onClick={() => setEditing(false)}>
              Cancel
            </button>
          </div>
        </form>
      ) : (
        <>
          <input
            type="checkbox"
            className="check"
            data-testid="task-toggle"
            aria-label={task.completed ? `Mark "${task.title}" as not done` : `Mark "${task.title}" as done`}
            checked={task.completed}
            disabled={busy}
            onChange={toggle}
          />
          <div className="task-body">
            <span className="task-title" data-testid="task-title">
              {task.title}
            </span>
            {task.description && (
              <span className="task-description muted" data-testid="task-description">
                {task.description}
              </span>
            )}
            <span className="task-meta muted">#{String(task.id)}</span>
          </div>
          <div className="task-actions">
            <button className="button ghost small" type="button" data-testid="task-edit" onClick={startEditing} disabled={busy}>
              Edit
            </button>
            <button className="button danger small" type="button" data-testid="task-delete" onClick={remove} disabled={busy}>
              Delete
            </button>
          </div>
        </>
      )}
    </li>
  );
}
