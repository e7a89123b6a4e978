// The one way a validate check is run and recorded: timed, a thrown error turned into a failed
// result with its message, reported in the order the checks were started even when they run at once.
import { InputError } from '../core/errors.ts';
import { formatMs } from '../core/ui.ts';

export type CheckResult = { name: string; ok: boolean; details: string[]; ms: number };

/** What a check body returns: its findings (none means passed), or a verdict with its details. */
export type CheckOutcome = string[] | { ok: boolean; details: string[] };

export class CheckRecorder {
  readonly results: CheckResult[] = [];
  /** Settles once every check started so far has been reported. */
  private reported: Promise<unknown> = Promise.resolve();

  constructor(private readonly onResult: (r: CheckResult) => void = () => {}) {}

  /**
   * Runs one check and records it. Checks started without awaiting the previous one run at once,
   * but are recorded and reported in the order they were started, so the checklist reads the same
   * on every run. Bad input (InputError) is not a finding: it propagates and stops the run.
   */
  run(name: string, body: () => Promise<CheckOutcome>): Promise<CheckResult> {
    const started = Date.now();
    const settled = body().then(
      (out) => (Array.isArray(out) ? { ok: out.length === 0, details: out } : out),
      (err: unknown) => {
        if (err instanceof InputError) throw err;
        return { ok: false, details: [err instanceof Error ? err.message : String(err)] };
      },
    );
    const measured = settled.then((v) => ({ name, ...v, ms: Date.now() - started }));
    const turn = this.reported;
    const done = Promise.all([measured, turn]).then(([r]) => this.add(r));
    // A stopped run must not leave the next check waiting on it.
    this.reported = done.catch(() => undefined);
    return done;
  }

  /**
   * A check whose failure stops the run (its error propagates, e.g. a bad configuration exits 2):
   * recorded as passed with its details, and its value handed back.
   */
  async gate<T>(name: string, body: () => Promise<{ value: T; details: string[] }>): Promise<T> {
    const started = Date.now();
    const { value, details } = await body();
    await this.reported;
    this.add({ name, ok: true, details, ms: Date.now() - started });
    return value;
  }

  /** Records a result computed elsewhere (the pure cluster checks). */
  add(r: CheckResult): CheckResult {
    this.results.push(r);
    this.onResult(r);
    return r;
  }

  get failed(): number {
    return this.results.filter((r) => !r.ok).length;
  }
}

/** One checklist line per check, its findings indented below a failed one; `timings` adds each check's duration. */
export function formatCheck(r: CheckResult, opts: { timings?: boolean } = {}): string {
  const took = opts.timings ? ` (${formatMs(r.ms)})` : '';
  const head = `${r.ok ? '✔' : '✖'} ${r.name}${r.ok && r.details.length ? ` — ${r.details.join('; ')}` : ''}${took}`;
  return r.ok ? head : [head, ...r.details.map((d) => `    ${d}`)].join('\n');
}
