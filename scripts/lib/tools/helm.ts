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
      'Upgrade helm: https://helm.sh/docs/intro/install/',
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
