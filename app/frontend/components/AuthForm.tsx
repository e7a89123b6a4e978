'use client';
// The log-in and sign-up form: one component, two modes, each with stable test ids prefixed by the mode.
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { type FormEvent, useEffect, useState } from 'react';
import { accessToken, login, signup } from '@/lib/api';

type Mode = 'login' | 'signup';

export default function AuthForm({ mode }: { mode: Mode }) {
  const router = useRouter();
  const [name, setName] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  // Someone already signed in has no business on this page.
  useEffect(() => {
    if (accessToken()) router.replace('/');
  }, [router]);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      if (mode === 'signup') await signup(name.trim(), email.trim(), password);
      else await login(email.trim(), password);
      router.replace('/');
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
      setBusy(false);
    }
  }

  const isSignup = mode === 'signup';
  return (
    <main className="auth-page">
      <section className="card auth-card">
        <div className="brand brand-large">
          <span className="brand-mark" aria-hidden="true">
            ✓
          </span>
          TaskFlow
        </div>
        <h1>{isSignup ? 'Create your account' : 'Welcome back'}</h1>
        <p className="muted">
          {isSignup ? 'Keep your tasks in one place and let the assistant handle the busywork.' : 'Log in to see your tasks.'}
        </p>
        <form className="stack" data-testid={`${mode}-form`} onSubmit={submit} noValidate={false}>
          {isSignup && (
            <label className="field">
              <span>Name</span>
              <input
                data-testid="signup-name"
                name="name"
                autoComplete="name"
                required
                maxLength={100}
                value={name}
                onChange={(e) => setName(e.target.value)}
              />
            </label>
          )}
          <label className="field">
            <span>Email</span>
            <input
              data-testid={`${mode}-email`}
              name="email"
              type="email"
              autoComplete="email"
              required
              value={email}
              onChange={(e) => setEmail(e.target.value)}
            />
          </label>
          <label className="field">
            <span>Password</span>
            <input
              data-testid={`${mode}-password`}
              name="password"
              type="password"
              autoComplete={isSignup ? 'new-password' : 'current-password'}
              required
              minLength={isSignup ? 8 : undefined}
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
            {isSignup && <small className="muted">At least 8 characters.</small>}
          </label>
          {error && (
            <p className="error" role="alert" data-testid={`${mode}-error`}>
              {error}
            </p>
          )}
          <button className="button primary" type="submit" data-testid={`${mode}-submit`} disabled={busy}>
            {busy ? 'Please wait…' : isSignup ? 'Sign up' : 'Log in'}
          </button>
        </form>
        <p className="muted switch">
          {isSignup ? (
            <>
              Already have an account?{' '}
              <Link href="/login" data-testid="goto-login">
                Log in
              </Link>
            </>
          ) : (
            <>
              New here?{' '}
              <Link href="/signup" data-testid="goto-signup">
                Create an account
              </Link>
            </>
          )}
        </p>
      </section>
    </main>
  );
}
