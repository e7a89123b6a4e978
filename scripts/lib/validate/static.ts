// `validate --static`: everything that can be checked without a cluster — helm lint for each values
// profile, a render of dev and prod, the Kubernetes schemas of every object, and the policy checks.
import { profileFileIn } from '../app/values.ts';
import { existsSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import type { CheckRecorder } from './checks.ts';
import type { Profile } from '../app/config.ts';
import { UserError } from '../core/errors.ts';
import { schemaProblems } from './k8s-schema.ts';
import { checkPolicies, policyChecks, ref, type K8sObject } from './policy.ts';
import type { Helm } from '../tools/helm.ts';

export type StaticOptions = {
  chartDir: string;
  release: string;
  namespace: string;
  profiles: Profile[];
  /** `lint` runs helm lint only (the `make lint` target). */
  only?: 'lint';
  /** Values given on stdin after a profile's file: the app's declared components, as setup passes them. */
  appValues?: (profile: Profile) => string;
};

/** The values files of a profile: values.yaml is always read by helm; the profile file adds to it. */
export function profileValuesFiles(chartDir: string, profile: Profile | 'default'): string[] {
  if (profile === 'default') return [];
  const file = profileFileIn(chartDir, profile);
  return existsSync(file) ? [file] : [];
}

/** Parses `helm template` output into objects, dropping empty documents. */
export function parseManifests(yamlText: string): K8sObject[] {
  const docs = parseAllDocuments(yamlText);
  const objects: K8sObject[] = [];
  for (const doc of docs) {
    if (doc.errors.length) throw new UserError(`rendered YAML does not parse: ${doc.errors[0]?.message}`, 'A template writes invalid YAML: render it with helm template to see where.');
    const obj = doc.toJS() as K8sObject | null;
    if (obj && typeof obj === 'object') objects.push(obj);
  }
  return objects;
}

/** The label of a lint check: which values file it reads. */
function lintLabel(chartDir: string, profile: Profile | 'default'): string {
  if (profile === 'default') return 'values.yaml';
  return profileValuesFiles(chartDir, profile).length ? `values-${profile}.yaml` : `${profile}: no values-${profile}.yaml, values.yaml only`;
}

/** The render check of one profile; resolves to its objects when it rendered, so the checks of them can run. */
async function renderProfile(helm: Helm, checks: CheckRecorder, opts: StaticOptions, profile: Profile): Promise<K8sObject[] | undefined> {
  let objects: K8sObject[] = [];
  const rendered = await checks.run(`render (${profile})`, async () => {
    const text = await helm.template(opts.chartDir, {
      release: opts.release,
      namespace: opts.namespace,
      valuesFiles: profileValuesFiles(opts.chartDir, profile),
      stdinValues: opts.appValues?.(profile),
    });
    objects = parseManifests(text);
    return { ok: objects.length > 0, details: [`${objects.length} objects: ${summarizeKinds(objects)}`] };
  });
  return rendered.ok ? objects : undefined;
}

/** Runs the static checks into `checks`. */
export async function runStaticValidation(helm: Helm, checks: CheckRecorder, opts: StaticOptions): Promise<void> {
  // Each lint and render is its own helm process and none needs another, so they all start at once;
  // the recorder still lists them in the order started here.
  const lints = (['default', ...opts.profiles] as const).map((profile) =>
    checks.run(`helm lint (${lintLabel(opts.chartDir, profile)})`, async () => {
      const out = await helm.lint(opts.chartDir, profileValuesFiles(opts.chartDir, profile), [], profile === 'default' ? undefined : opts.appValues?.(profile));
      const lines = out.output.split('\n').filter((l) => /\[(ERROR|WARNING)\]|^Error/.test(l));
      return { ok: out.ok, details: out.ok ? lines : lines.length ? lines : [out.output] };
    }),
  );
  const renders = opts.only === 'lint' ? [] : opts.profiles.map((profile) => renderProfile(helm, checks, opts, profile));
  await Promise.all(lints);
  const rendered = await Promise.all(renders);

  for (const [i, profile] of opts.profiles.entries()) {
    const objects = rendered[i];
    if (!objects) continue;
    await checks.run(`kubernetes schemas (${profile})`, async () => objects.flatMap((o) => schemaProblems(o).map((p) => `${ref(o)}: ${p}`)));
    const findings = checkPolicies(objects);
    for (const check of policyChecks) {
      await checks.run(`${check} (${profile})`, async () => findings.filter((f) => f.check === check).map((f) => `${f.object}: ${f.message}`));
    }
  }
}

function summarizeKinds(objects: K8sObject[]): string {
  const counts = new Map<string, number>();
  for (const o of objects) counts.set(o.kind, (counts.get(o.kind) ?? 0) + 1);
  return [...counts].map(([k, n]) => (n > 1 ? `${n} ${k}` : k)).join(', ');
}
