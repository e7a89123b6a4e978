// Step output: one titled line per step with its verdict and duration, a spinner on stderr while
// it runs (only on a TTY outside CI), a closing count, and a JSON summary for --json.
import { mask } from './secrets.ts';

export type StepStatus = 'done' | 'skipped' | 'failed';
export type StepRecord = { title: string; status: StepStatus; detail: string; ms: number };

/**
 * What a step body returns: the verdict shown after the title, and the value the step hands to
 * the steps after it (what `ui.step` returns).
 */
export type StepOutcome<T = void> = { status: 'done' | 'skipped'; detail?: string } & ([T] extends [void] ? { value?: undefined } : { value: T });

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export type UiOptions = {
  json: boolean;
  /** Human lines go here (stdout unless --json, then stderr). */
  out?: (line: string) => void;
  /** Whether to animate a spinner; defaults to stderr being a TTY outside CI. */
  spinner?: boolean;
};

export function formatMs(ms: number): string {
  return ms < 1000 ? `${ms}ms` : `${(ms / 1000).toFixed(1)}s`;
}

export class Ui {
  readonly steps: StepRecord[] = [];
  private readonly json: boolean;
  private readonly out: (line: string) => void;
  private readonly spin: boolean;

  constructor(opts: UiOptions) {
    this.json = opts.json;
    this.out =
      opts.out ??
      (opts.json ? (line) => process.stderr.write(`${line}\n`) : (line) => process.stdout.write(`${line}\n`));
    this.spin = opts.spinner ?? (Boolean(process.stderr.isTTY) && !process.env.CI);
  }

  info(line: string): void {
    this.out(mask(line));
  }

  /**
   * Runs one step: spinner while it works, then ✔/↷/✖ with its verdict and duration. Returns the
   * step's value; rethrows failures.
   */
  async step<T = void>(title: string, body: () => Promise<StepOutcome<T>>): Promise<T> {
    const started = Date.now();
    let frame = 0;
    const timer = this.spin
      ? setInterval(() => {
          process.stderr.write(`\r${FRAMES[frame++ % FRAMES.length]} ${title} (${formatMs(Date.now() - started)})`);
        }, 100)
      : undefined;
    const clear = () => {
      if (timer) {
        clearInterval(timer);
        process.stderr.write('\r\x1b[2K');
      }
    };
    try {
      const outcome = await body();
      clear();
      this.record(title, outcome.status, outcome.detail ?? '', Date.now() - started);
      return outcome.value as T;
    } catch (err) {
      clear();
      const detail = err instanceof Error ? err.message.split('\n')[0] ?? '' : String(err);
      this.record(title, 'failed', detail, Date.now() - started);
      throw err;
    }
  }

  private record(title: string, status: StepStatus, detail: string, ms: number): void {
    const rec = { title, status, detail: mask(detail), ms };
    this.steps.push(rec);
    const mark = status === 'done' ? '✔' : status === 'skipped' ? '↷' : '✖';
    const verdict = status === 'skipped' ? `skipped: ${rec.detail}` : rec.detail;
    this.out(`${mark} ${title}${verdict ? ` — ${verdict}` : ''} (${formatMs(ms)})`);
  }

  /** The closing count line, e.g. "6 steps: 4 done, 2 skipped, 0 failed in 3.1s". */
  summary(): string {
    const count = (s: StepStatus) => this.steps.filter((r) => r.status === s).length;
    const total = this.steps.reduce((n, r) => n + r.ms, 0);
    return `${this.steps.length} steps: ${count('done')} done, ${count('skipped')} skipped, ${count('failed')} failed in ${formatMs(total)}`;
  }

  /** Prints the summary, and under --json the machine-readable result on stdout. */
  finish(extra: Record<string, unknown> = {}): void {
    this.out(this.summary());
    if (this.json) {
      const failed = this.steps.some((s) => s.status === 'failed');
      process.stdout.write(`${mask(JSON.stringify({ ok: !failed, steps: this.steps, ...extra }, null, 2))}\n`);
    }
  }

  /**
   * Runs a command's steps, which finish the output themselves when they succeed; when they throw,
   * finishes it with the error's first line (so --json still prints its result), then rethrows
   * for the entry point to turn into an exit code.
   */
  async finishOnError<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      this.finish({ error: (err as Error).message.split('\n')[0] });
      throw err;
    }
  }
}
