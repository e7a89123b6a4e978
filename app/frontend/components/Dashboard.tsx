'use client';
// The signed-in screen: header with the user and log-out, the task list, and the chat panel that can change it.
import { useRouter } from 'next/navigation';
import { useCallback, useEffect, useState } from 'react';
import ChatPanel from '@/components/ChatPanel';
import TaskPanel from '@/components/TaskPanel';
import { accessToken, ApiError, logout, me, storedUser, type Task, tasks as tasksApi, type User } from '@/lib/api';

export default function Dashboard() {
  const router = useRouter();
  const [user, setUser] = useState<User | null>(null);
  const [tasks, setTasks] = useState<Task[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [leaving, setLeaving] = useState(false);

  const handleError = useCallback(
    (err: unknown) => {
      if (err instanceof ApiError && err.status === 401) {
        router.replace('/login');
        return;
      }
      setError(err instanceof Error ? err.message : String(err));
    },
    [router],
  );

  const reload = useCallback(async () => {
    try {
      const list = await tasksApi.list();
      setTasks(Array.isArray(list) ? list : []);
      setError(null);
    } catch (err) {
      handleError(err);
    }
  }, [handleError]);

  useEffect(() => {
    if (!accessToken()) {
      router.replace('/login');
      return;
    }
    setUser(storedUser());
    me().then(setUser, handleError);
    void reload();
  }, [router, reload, handleError]);

  async function signOut() {
    setLeaving(true);
    await logout();
    router.replace('/login');
  }

  if (!user && tasks === null) {
    return (
      <main className="loading" data-testid="dashboard-loading">
        Loading…
      </main>
    );
  }

  return (
    <div className="app">
      <header className="topbar">
        <div className="brand">
          <span className="brand-mark" aria-hidden="true">
            ✓
          </span>
          TaskFlow
        </div>
        <div className="user">
          <span className="avatar" aria-hidden="true">
            {(user?.name || user?.email || '?').slice(0, 1).toUpperCase()}
          </span>
          <span data-testid="user-name">{user?.name || user?.email}</span>
          <button className="button ghost" type="button" data-testid="logout-button" onClick={signOut} disabled={leaving}>
            {leaving ? 'Logging out…' : 'Log out'}
          </button>
        </div>
      </header>
      {error && (
        <div className="banner error" role="alert" data-testid="app-error">
          {error}
          <button className="link" type="button" onClick={() => setError(null)}>
            Dismiss
          </button>
        </div>
      )}
      <main className="workspace">
        <TaskPanel tasks={tasks} setTasks={setTasks} onError={handleError} />
        <ChatPanel onTasksChanged={reload} onError={handleError} />
      </main>
    </div>
  );
}
