// Renders the real chart with the real helm for the chart suites: the test default (Helm 4, see
// tool-versions.ts), or the version a matrix suite asks for.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Exec } from '../../scripts/lib/core/exec.ts';
import { Helm } from '../../scripts/lib/tools/helm.ts';
import { parseManifests } from '../../scripts/lib/validate/static.ts';
import type { K8sObject } from '../../scripts/lib/validate/policy.ts';
import { defaultHelm } from './tool-versions.ts';

export const root = fileURLToPath(new URL('../../', import.meta.url));
export const chartDir = join(root, 'helm', 'taskflow');
export const devValues = join(chartDir, 'values-dev.yaml');
export const prodValues = join(chartDir, 'values-prod.yaml');
/** Adds a worker: a component with containerPort null (a queue consumer) beside the default ones. */
export const workerValues = join(root, 'tests', 'fixtures', 'chart', 'worker.yaml');

let helmPromise: Promise<Helm> | undefined;
export function helm(): Promise<Helm> {
  helmPromise ??= defaultHelm().then((bin) => new Helm(new Exec(), bin));
  return helmPromise;
}

/** `bin`: another helm than the default, for the version matrix. */
export type RenderInput = { files?: string[]; set?: string[]; values?: string; chart?: string; bin?: string };

/** `helm template` of the chart; resolves to the objects, rejects with helm's message. */
export async function render(input: RenderInput = {}): Promise<K8sObject[]> {
  const h = input.bin ? new Helm(new Exec(), input.bin) : await helm();
  const text = await h.template(input.chart ?? chartDir, {
    release: 'demo',
    namespace: 'taskflow',
    valuesFiles: input.files ?? [],
    set: input.set,
    stdinValues: input.values,
  });
  return parseManifests(text);
}

/** NOTES.txt as `helm install --dry-run=client` prints it (`helm template` leaves it out), with the default helm. */
export async function renderNotes(input: Pick<RenderInput, 'files' | 'set'> = {}): Promise<string> {
  const { bin } = await helm();
  const args = [
    'install',
    'demo',
    chartDir,
    '--namespace',
    'taskflow',
    '--dry-run=client',
    ...(input.files ?? []).flatMap((f) => ['-f', f]),
    ...(input.set ?? []).flatMap((s) => ['--set', s]),
  ];
  const out = await new Exec().run(bin, args, { nothrow: true });
  if (out.exitCode !== 0) throw new Error(`helm install --dry-run failed:\n${out.stderr.trim()}`);
  const [, notes] = out.stdout.split('\nNOTES:\n');
  if (notes === undefined) throw new Error(`helm install --dry-run printed no NOTES:\n${out.stdout}`);
  return notes;
}

/** The error message helm gives for values that must fail, or undefined when they render. */
export async function renderError(input: RenderInput): Promise<string | undefined> {
  try {
    await render(input);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

export function find(objects: K8sObject[], kind: string, name: string): K8sObject {
  const obj = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!obj) throw new Error(`no ${kind}/${name} among ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return obj;
}

/** Reads a nested field with a dotted path ("spec.template.spec.containers.0.image"). */
export function dig(obj: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((o, k) => (o == null ? undefined : (o as Record<string, unknown>)[k]), obj);
}

type Selector = { matchLabels?: Record<string, string> };
type Policy = { spec: { podSelector: Selector; ingress?: { from?: { podSelector?: Selector }[] }[] } };
const selects = (sel: Selector, labels: Record<string, string>) => Object.entries(sel.matchLabels ?? {}).every(([k, v]) => labels[k] === v);

/**
 * Whether pods with the `from` labels may open a connection to pods with the `to` labels: a pod no
 * NetworkPolicy selects admits anyone; one that some policy selects admits only what a rule lets in.
 */
export function admits(objects: K8sObject[], from: Record<string, string>, to: Record<string, string>): boolean {
  const policies = objects.filter((o) => o.kind === 'NetworkPolicy') as unknown as Policy[];
  const governing = policies.filter((p) => selects(p.spec.podSelector, to));
  if (governing.length === 0) return true;
  return governing.some((p) => (p.spec.ingress ?? []).some((rule) => (rule.from ?? []).some((peer) => peer.podSelector !== undefined && selects(peer.podSelector, from))));
}
