// Waiting in the tests: every poll goes through waitFor (scripts/lib/core/wait.ts). This thin layer
// adds what a probe of something still starting needs: a throw counts as "not yet" (a port that
// refuses, a container not up), and the last thing seen goes into the timeout message.
import { waitFor } from '../../scripts/lib/core/wait.ts';

/** Thrown from a check when waiting cannot help (the process exited, the page shows an error): ends the wait at once. */
export class GiveUp extends Error {}

/** A check's answer: a value ends the wait; `undefined`, `null` or `false` means "not yet". */
type Answer<T> = T | undefined | null | false;

export type UntilOptions = {
  /** Give up after this many milliseconds (default 15 s). */
  timeoutMs?: number;
  /** Pause between checks, in milliseconds (default 100). */
  intervalMs?: number;
};

/**
 * Polls `check` until it returns a value, and returns that value. A check that throws has not
 * succeeded yet, and its message is the last state seen; `seen` records one without throwing.
 * GiveUp ends the wait at once. On timeout: "timed out after 15s waiting for <what> (last seen: …)".
 */
export function until<T>(what: string, check: (seen: (state: string) => void) => Answer<T> | Promise<Answer<T>>, { timeoutMs = 15_000, intervalMs = 100 }: UntilOptions = {}): Promise<T> {
  const note: { last?: string } = {};
  const seen = (state: string) => void (note.last = state);
  const probe = async (): Promise<Answer<T>> => {
    try {
      return await check(seen);
    } catch (err) {
      if (err instanceof GiveUp) throw err;
      seen(err instanceof Error ? err.message : String(err));
      return undefined;
    }
  };
  const onTimeout = (last: string | undefined) => new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}${last === undefined ? '' : ` (last seen: ${last})`}`);
  return waitFor(probe, { timeout: timeoutMs, interval: intervalMs, describe: what, onTimeout }, note);
}
