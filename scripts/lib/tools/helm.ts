// Typed wrapper of the helm CLI: every call an argument array through the one process seam.
import { PrerequisiteError, UserError } from '../errors.ts';
import type { Exec } from '../exec.ts';

export type HelmVersion = { major: number; minor: number; patch: number; raw: string };

/** Parses `helm version --template '{{.Version}}'` output such as "v4.1.4" or "v3.14.2+g1234". */
export function parseHelmVersion(text: string): HelmVersion | undefined {
  const m = /v?(\d+)\.(\d+)\.(\d+)/.exec(text.trim());
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]), raw: text.trim() };
}

/** Helm 3.12 is the oldest with the flags and schema handling this chart relies on. */
export function checkHelmVersion(v: HelmVersion): void {
  if (v.major < 3 || (v.major === 3 && v.minor < 12)) {
    throw new PrerequisiteError(
      `helm ${v.raw} is too old: taskflow needs Helm 3.12 or newer (Helm 4 works too)`,
      'Upgrade helm. Install Helm: https://helm.sh/docs/intro/install/',
    );
  }
}

export type TemplateOptions = {
  release: string;
  namespace: string;
  valuesFiles: string[];
  set?: string[];
  /** Extra values as YAML on stdin (`-f -`), how secrets reach helm without touching argv. */
  stdinValues?: string;
};

export class Helm {
  constructor(
    private readonly exec: Exec,
    readonly bin: string = 'helm',
  ) {}

  async version(): Promise<HelmVersion> {
    const out = await this.exec.run(this.bin, ['version', '--template', '{{.Version}}'], { nothrow: true });
    const v = parseHelmVersion(out.stdout);
    if (out.exitCode !== 0 || !v) {
      throw new PrerequisiteError(`could not read helm's version (${this.bin})`, 'Install Helm 3.12+ or 4: https://helm.sh/docs/intro/install/');
    }
    return v;
  }

  /** `helm lint`; returns its exit code and output instead of throwing, since a failing lint is a finding. */
  async lint(chart: string, valuesFiles: string[], set: string[] = []): Promise<{ ok: boolean; output: string }> {
    const args = ['lint', chart, ...valuesFiles.flatMap((f) => ['-f', f]), ...set.flatMap((s) => ['--set', s])];
    const out = await this.exec.run(this.bin, args, { nothrow: true });
    return { ok: out.exitCode === 0, output: `${out.stdout}${out.stderr}`.trim() };
  }

  /** `helm template`; throws a UserError carrying helm's message when the chart does not render. */
  async template(chart: string, opts: TemplateOptions): Promise<string> {
    const args = [
      'template',
      opts.release,
      chart,
      '--namespace',
      opts.namespace,
      ...opts.valuesFiles.flatMap((f) => ['-f', f]),
      ...(opts.stdinValues !== undefined ? ['-f', '-'] : []),
      ...(opts.set ?? []).flatMap((s) => ['--set', s]),
    ];
    const out = await this.exec.run(this.bin, args, { nothrow: true, input: opts.stdinValues });
    if (out.exitCode !== 0) throw new UserError(`helm template failed:\n${out.stderr.trim()}`);
    return out.stdout;
  }
}

/** Release states `helm status -o json` reports in info.status. */
export type ReleaseStatus =
  | 'deployed'
  | 'failed'
  | 'pending-install'
  | 'pending-upgrade'
  | 'pending-rollback'
  | 'uninstalling'
  | 'superseded'
  | 'uninstalled'
  | 'unknown';

export type ReleaseInfo = { status: ReleaseStatus; revision: number; chartVersion: string };
export type HistoryEntry = { revision: number; status: ReleaseStatus };

export type UpgradeOptions = {
  release: string;
  namespace: string;
  context: string;
  chart: string;
  valuesFiles: string[];
  /** YAML given on stdin as `-f -`: the generated values, secrets included, never on argv. */
  stdinValues: string;
  timeout: string;
  major: number;
};

/** Helm 3 and Helm 4 spell "wait, and undo a failed upgrade" differently. */
export function upgradeFlags(major: number, timeout: string): string[] {
  return major >= 4
    ? ['--wait=watcher', '--rollback-on-failure', '--timeout', timeout]
    : ['--wait', '--atomic', '--timeout', timeout];
}

export class HelmRelease {
  constructor(
    private readonly exec: Exec,
    readonly bin: string,
  ) {}

  private scope(o: { namespace: string; context: string }): string[] {
    return ['--namespace', o.namespace, '--kube-context', o.context];
  }

  /** `helm status -o json`; undefined when the release does not exist. */
  async status(o: { release: string; namespace: string; context: string }): Promise<ReleaseInfo | undefined> {
    const out = await this.exec.run(this.bin, ['status', o.release, ...this.scope(o), '--output', 'json'], { nothrow: true });
    if (out.exitCode !== 0) {
      if (/not found/i.test(out.stderr)) return undefined;
      throw new UserError(`helm status ${o.release} failed: ${out.stderr.trim()}`);
    }
    const data = JSON.parse(out.stdout) as { version?: number; info?: { status?: string }; chart?: { metadata?: { version?: string } } };
    return { status: (data.info?.status ?? 'unknown') as ReleaseStatus, revision: data.version ?? 0, chartVersion: data.chart?.metadata?.version ?? '' };
  }

  async history(o: { release: string; namespace: string; context: string }): Promise<HistoryEntry[]> {
    const out = await this.exec.run(this.bin, ['history', o.release, ...this.scope(o), '--output', 'json'], { nothrow: true });
    if (out.exitCode !== 0) return [];
    return (JSON.parse(out.stdout) as { revision: number; status: string }[]).map((h) => ({ revision: h.revision, status: h.status as ReleaseStatus }));
  }

  /** The user-supplied values of the deployed revision (`helm get values -o json`). */
  async values(o: { release: string; namespace: string; context: string }): Promise<Record<string, unknown>> {
    const out = await this.exec.run(this.bin, ['get', 'values', o.release, ...this.scope(o), '--output', 'json']);
    return (JSON.parse(out.stdout || '{}') ?? {}) as Record<string, unknown>;
  }

  async upgrade(o: UpgradeOptions): Promise<{ ok: boolean; output: string }> {
    const args = [
      'upgrade',
      '--install',
      o.release,
      o.chart,
      ...this.scope(o),
      ...o.valuesFiles.flatMap((f) => ['--values', f]),
      '--values',
      '-',
      ...upgradeFlags(o.major, o.timeout),
    ];
    const out = await this.exec.run(this.bin, args, { mutating: true, nothrow: true, input: o.stdinValues });
    return { ok: out.exitCode === 0, output: `${out.stdout}${out.stderr}`.trim() };
  }

  /** `helm upgrade --reuse-values --set …`: changes a few values of the deployed release, nothing else. */
  async setValues(o: { release: string; namespace: string; context: string; chart: string; set: string[]; timeout: string; major: number }): Promise<{ ok: boolean; output: string }> {
    const args = ['upgrade', o.release, o.chart, ...this.scope(o), '--reuse-values', ...o.set.flatMap((x) => ['--set', x]), ...upgradeFlags(o.major, o.timeout)];
    const out = await this.exec.run(this.bin, args, { mutating: true, nothrow: true });
    return { ok: out.exitCode === 0, output: `${out.stdout}${out.stderr}`.trim() };
  }

  async rollback(o: { release: string; namespace: string; context: string }, revision: number, major: number, timeout: string): Promise<void> {
    const wait = major >= 4 ? ['--wait=watcher'] : ['--wait'];
    await this.exec.run(this.bin, ['rollback', o.release, String(revision), ...this.scope(o), ...wait, '--timeout', timeout], { mutating: true });
  }

  async uninstall(o: { release: string; namespace: string; context: string }, timeout: string): Promise<void> {
    await this.exec.run(this.bin, ['uninstall', o.release, ...this.scope(o), '--wait', '--timeout', timeout], { mutating: true });
  }
}
