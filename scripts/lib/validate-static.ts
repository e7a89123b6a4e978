// `validate --static`: everything that can be checked without a cluster — helm lint for each values
// profile, a render of dev and prod, the Kubernetes schemas of every object, and the policy checks.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { Profile } from './config.ts';
import { schemaProblems } from './k8s-schema.ts';
import { checkPolicies, policyChecks, ref, type K8sObject } from './policy.ts';
import type { Helm } from './tools/helm.ts';

export type CheckResult = { name: string; ok: boolean; details: string[]; ms: number };

export type StaticOptions = {
  chartDir: string;
  release: string;
  namespace: string;
  profiles: Profile[];
  /** `lint` runs helm lint only (the `make lint` target). */
  only?: 'lint';
  /** Called as each check finishes, so a long run shows progress. */
  onResult?: (r: CheckResult) => void;
};

/** The values files of a profile: values.yaml is always read by helm; the profile file adds to it. */
export function profileValuesFiles(chartDir: string, profile: Profile | 'default'): string[] {
  if (profile === 'default') return [];
  const file = join(chartDir, `values-${profile}.yaml`);
  return existsSync(file) ? [file] : [];
}

/** Parses `helm template` output into objects, dropping empty documents. */
export function parseManifests(yamlText: string): K8sObject[] {
  const docs = parseAllDocuments(yamlText);
  const objects: K8sObject[] = [];
  for (const doc of docs) {
    if (doc.errors.length) throw new Error(`rendered YAML does not parse: ${doc.errors[0]?.message}`);
    const obj = doc.toJS() as K8sObject | null;
    if (obj && typeof obj === 'object') objects.push(obj);
  }
  return objects;
}

export async function runStaticValidation(helm: Helm, opts: StaticOptions): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const record = async (name: string, body: () => Promise<string[] | { ok: boolean; details: string[] }>) => {
    const started = Date.now();
    let ok: boolean;
    let details: string[];
    try {
      const out = await body();
      ({ ok, details } = Array.isArray(out) ? { ok: out.length === 0, details: out } : out);
    } catch (err) {
      ok = false;
      details = [(err as Error).message];
    }
    const r = { name, ok, details, ms: Date.now() - started };
    results.push(r);
    opts.onResult?.(r);
    return r;
  };

  for (const profile of ['default', ...opts.profiles] as const) {
    const files = profileValuesFiles(opts.chartDir, profile);
    const label = profile === 'default' ? 'values.yaml' : files.length ? `values-${profile}.yaml` : `${profile}: no values-${profile}.yaml, values.yaml only`;
    await record(`helm lint (${label})`, async () => {
      const out = await helm.lint(opts.chartDir, files);
      const lines = out.output.split('\n').filter((l) => /\[(ERROR|WARNING)\]|^Error/.test(l));
      return { ok: out.ok, details: out.ok ? lines : lines.length ? lines : [out.output] };
    });
  }
  if (opts.only === 'lint') return results;

  for (const profile of opts.profiles) {
    let objects: K8sObject[] = [];
    const rendered = await record(`render (${profile})`, async () => {
      const text = await helm.template(opts.chartDir, {
        release: opts.release,
        namespace: opts.namespace,
        valuesFiles: profileValuesFiles(opts.chartDir, profile),
      });
      objects = parseManifests(text);
      return { ok: objects.length > 0, details: [`${objects.length} objects: ${summarizeKinds(objects)}`] };
    });
    if (!rendered.ok) continue;
    await record(`kubernetes schemas (${profile})`, async () =>
      objects.flatMap((o) => schemaProblems(o).map((p) => `${ref(o)}: ${p}`)),
    );
    const findings = checkPolicies(objects);
    for (const check of policyChecks) {
      await record(`${check} (${profile})`, async () =>
        findings.filter((f) => f.check === check).map((f) => `${f.object}: ${f.message}`),
      );
    }
  }
  return results;
}

function summarizeKinds(objects: K8sObject[]): string {
  const counts = new Map<string, number>();
  for (const o of objects) counts.set(o.kind, (counts.get(o.kind) ?? 0) + 1);
  return [...counts].map(([k, n]) => (n > 1 ? `${n} ${k}` : k)).join(', ');
}

/** One checklist line per check, with its findings indented below a failed one. */
export function formatCheck(r: CheckResult): string {
  const head = `${r.ok ? '✔' : '✖'} ${r.name}${r.ok && r.details.length ? ` — ${r.details.join('; ')}` : ''}`;
  return r.ok ? head : [head, ...r.details.map((d) => `    ${d}`)].join('\n');
}
