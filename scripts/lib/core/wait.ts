// The one way to wait: poll a check until it yields a value, with a deadline and a description
// of what is awaited, so a timeout says what never happened instead of hanging or guessing.
import { UserError } from './errors.ts';

export type WaitOptions<L = unknown> = {
  /** Give up after this many milliseconds. */
  timeout: number;
  /** Pause between checks, in milliseconds. */
  interval: number;
  /** What is awaited, for the timeout message ("namespace taskflow to go"). */
  describe: string;
  /** Stops the wait early; waitFor then resolves undefined. */
  signal?: AbortSignal;
  /** The error to throw on timeout; by default a UserError naming `describe` and the last state seen. */
  onTimeout?: (last: L | undefined) => Error;
};

/** A check's answer: a value ends the wait; `undefined`, `null` or `false` means "not yet". */
export type Check<T> = () => T | undefined | null | false | Promise<T | undefined | null | false>;

function formatWait(ms: number): string {
  return ms % 60_000 === 0 ? `${ms / 60_000} minute${ms === 60_000 ? '' : 's'}` : `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)}s`;
}

/**
 * Polls `check` every `interval` ms until it returns a value, and returns that value. Throws
 * `onTimeout(last)` (or a UserError) once `timeout` ms have passed; `note` lets a check record the
 * last state it saw for that message. An aborted signal ends the wait with undefined.
 */
export async function waitFor<T, L = string>(check: Check<T>, opts: WaitOptions<L>, note?: { last?: L }): Promise<T> {
  const deadline = Date.now() + opts.timeout;
  for (;;) {
    if (opts.signal?.aborted) return undefined as T;
    const v = await check();
    if (v !== undefined && v !== null && v !== false) return v;
    if (Date.now() >= deadline) {
      if (opts.onTimeout) throw opts.onTimeout(note?.last);
      throw new UserError(`timed out after ${formatWait(opts.timeout)} waiting for ${opts.describe}${note?.last !== undefined ? ` (last seen: ${String(note.last)})` : ''}`);
    }
    await delay(Math.min(opts.interval, Math.max(0, deadline - Date.now())), opts.signal);
  }
}

/**
 * Resolves after ms, or at once when the signal aborts. For a pause that is itself the point: a
 * back-off between attempts, or the interval of a view refreshed on a clock (status --watch, the
 * pod list read where it cannot be watched). Waiting for something to happen is waitFor's job.
 */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
