// Shown for any unknown address.
import Link from 'next/link';

export default function NotFound() {
  return (
    <main className="auth-page">
      <section className="card auth-card">
        <h1>Page not found</h1>
        <p className="muted">There is nothing at this address.</p>
        <Link className="button primary" href="/">
          Go to your tasks
        </Link>
      </section>
    </main>
  );
}
