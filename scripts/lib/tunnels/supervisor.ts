// Keeps one `kubectl port-forward` per tunnel running: health-checks each through its local port
// before calling it up, and restarts a kubectl that exits (its pod was replaced) with back-off.
import { PrerequisiteError, UserError } from '../core/errors.ts';
import type { Exec, LongRunning } from '../core/exec.ts';
import { classifyKubectlError, nextBackoff, portForwardArgs, type Tunnel } from './tunnels.ts';
import { formatMs } from '../core/ui.ts';
import { delay, waitFor } from '../core/wait.ts';

/** How long start-up may take: pods still starting make kubectl fail fast, so it is retried until then. */
export const STARTUP_DEADLINE_MS = 120_000;
/** A tunnel that stayed up this long was healthy; its next failure starts the backoff afresh. */
const HEALTHY_RUN_MS = 10_000;
/** Waiting for kubectl to listen is cheap to poll; a failing health check is not hammered. */
const LISTEN_POLL_MS = 100;
const HEALTH_RETRY_MS = 500;

type TunnelState = {
  tunnel: Tunnel;
  child?: LongRunning;
  /** When the current kubectl printed "Forwarding from", if it has. */
  forwardingSince?: number;
  lastError: string;
  reconnects: number;
};

export type SupervisorOptions = {
  exec: Exec;
  kubectl?: string;
  context: string;
  namespace: string;
  tunnels: Tunnel[];
  /** Reconnect lines and, when verbose, kubectl's own output. */
  log: (line: string) => void;
  verbose?: boolean;
};

/** Keeps one `kubectl port-forward` per tunnel running until stop(); a child that exits is restarted with backoff. */
export class Supervisor {
  private readonly states: TunnelState[];
  private readonly abort = new AbortController();
  private ready = false;
  private fatal?: (err: Error) => void;
  private readonly failed: Promise<never>;
  private loops: Promise<void>[] = [];

  constructor(private readonly o: SupervisorOptions) {
    this.states = o.tunnels.map((tunnel) => ({ tunnel, lastError: '', reconnects: 0 }));
    this.failed = new Promise<never>((_, reject) => (this.fatal = reject));
    this.failed.catch(() => {}); // observed through start() and done()
  }

  get reconnects(): number {
    return this.states.reduce((n, s) => n + s.reconnects, 0);
  }

  /** Starts every tunnel; resolves once each answers its health path, rejects on a fatal error or the deadline. */
  async start(onHealthy: (t: Tunnel, detail: string, ms: number) => void, deadlineMs = STARTUP_DEADLINE_MS): Promise<void> {
    this.loops = this.states.map((s) => this.keep(s));
    await Promise.race([
      Promise.all(
        this.states.map(async (s) => {
          const t0 = Date.now();
          const status = await this.waitHealthy(s, deadlineMs);
          onHealthy(s.tunnel, status, Date.now() - t0);
        }),
      ),
      this.failed,
    ]);
    this.ready = true;
  }

  /** Settles when the supervisor is stopped (resolves) or hits an error it cannot retry (rejects). */
  done(): Promise<void> {
    return Promise.race([Promise.all(this.loops).then(() => undefined), this.failed]);
  }

  /** Stops every child and waits for them to exit. */
  async stop(): Promise<void> {
    this.abort.abort();
    await Promise.all(this.states.map((s) => s.child?.stop(3000)));
    await Promise.all(this.loops);
  }

  /** Signals every child at once; for process 'exit' hooks, where nothing can be awaited. */
  killNow(): void {
    this.abort.abort();
    for (const s of this.states) s.child?.kill('SIGTERM');
  }

  private async keep(s: TunnelState): Promise<void> {
    const t = s.tunnel;
    const args = portForwardArgs(this.o.context, this.o.namespace, t);
    let backoff: number | undefined;
    while (!this.abort.signal.aborted) {
      s.forwardingSince = undefined;
      s.lastError = '';
      const child = this.o.exec.start(this.o.kubectl ?? 'kubectl', args, {
        onLine: (line, stream) => {
          if (/^Forwarding from /.test(line)) s.forwardingSince ??= Date.now();
          else if (stream === 'stderr' && line.trim()) s.lastError = line.trim();
          if (this.o.verbose && !/^Handling connection/.test(line)) this.o.log(`  [${t.component}] ${line}`);
        },
      });
      s.child = child;
      const exit = await child.exited;
      s.child = undefined;
      if (this.abort.signal.aborted) return;
      if (exit.error) {
        this.fatal?.(exit.error instanceof PrerequisiteError ? new PrerequisiteError(exit.error.message, 'Install kubectl 1.27 or newer: https://kubernetes.io/docs/tasks/tools/') : exit.error);
        return;
      }
      if (!this.ready && s.forwardingSince === undefined) {
        const verdict = classifyKubectlError(s.lastError, t, this.o.context, this.o.namespace);
        if (!verdict.retry) {
          this.fatal?.(verdict.error);
          return;
        }
      }
      const upFor = s.forwardingSince === undefined ? 0 : Date.now() - s.forwardingSince;
      backoff = upFor >= HEALTHY_RUN_MS ? nextBackoff() : nextBackoff(backoff);
      s.reconnects++;
      const why = `${exit.signal ?? `exit ${exit.code}`}${s.lastError ? `: ${s.lastError}` : ''}`;
      this.o.log(`↻ ${t.component}: kubectl port-forward ended (${why}); reconnecting in ${formatMs(backoff)}`);
      await delay(backoff, this.abort.signal);
    }
  }

  /** Resolves "GET <path> 200" once the tunnel answers through its local port. */
  private async waitHealthy(s: TunnelState, timeoutMs: number): Promise<string> {
    const t = s.tunnel;
    const url = `http://127.0.0.1:${t.localPort}${t.healthPath}`;
    const seen = { last: 'no answer yet' };
    let nextProbe = 0;
    const status = await waitFor(
      async () => {
        // Only a forwarding kubectl can answer; probing earlier could reach whoever grabbed the port.
        if (s.forwardingSince === undefined) {
          if (s.lastError) seen.last = `kubectl: ${s.lastError}`;
          return undefined;
        }
        if (Date.now() < nextProbe) return undefined;
        try {
          const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
          const body = (await res.text()).replace(/\s+/g, ' ').slice(0, 120);
          if (res.status === 200) return `GET ${t.healthPath} ${res.status}`;
          seen.last = `GET ${t.healthPath} → ${res.status} ${body}`;
        } catch (err) {
          const cause = (err as { cause?: { code?: string } }).cause?.code;
          seen.last = `GET ${t.healthPath}: ${cause ?? (err as Error).message}`;
        }
        nextProbe = Date.now() + HEALTH_RETRY_MS;
        return undefined;
      },
      {
        timeout: timeoutMs,
        interval: LISTEN_POLL_MS,
        describe: `${t.component} to answer through localhost:${t.localPort}`,
        signal: this.abort.signal,
        onTimeout: (last) =>
          new UserError(
            `${t.component} did not answer 200 through localhost:${t.localPort} within ${formatMs(timeoutMs)} (last: ${last})`,
            `Check the pods: kubectl --context ${this.o.context} --namespace ${this.o.namespace} get pods`,
          ),
      },
      seen,
    );
    // waitFor gives up without a value when stop() aborts the wait.
    if (!status) throw new UserError('stopped before the tunnels were up');
    return status;
  }
}
