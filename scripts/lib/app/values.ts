// The chart's values: its directory, its values files and the profile layers (each parsed once per
// version of the file), Helm's merge of them, and the Values type. What setup adds on top is
// release/values.ts.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { parse as parseYaml } from 'yaml';

export type Values = Record<string, unknown>;

export const isMap = (v: unknown): v is Values => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Helm's coalescing of user values files: maps merge key by key, anything else is replaced, null
 * deletes. With `nulls: 'keep'` a null stays (a worker's containerPort), for a layer helm merges later.
 */
export function mergeValues(base: Values, over: Values, o: { nulls: 'delete' | 'keep' } = { nulls: 'delete' }): Values {
  const out: Values = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === null && o.nulls === 'delete') delete out[k];
    else if (isMap(v) && isMap(out[k])) out[k] = mergeValues(out[k] as Values, v, o);
    else out[k] = v;
  }
  return out;
}

/** Deep equality of JSON-like values, key order ignored. */
export function sameValues(a: unknown, b: unknown): boolean {
  if (isMap(a) && isMap(b)) {
    const ka = Object.keys(a).sort();
    const kb = Object.keys(b).sort();
    return ka.length === kb.length && ka.every((k, i) => k === kb[i] && sameValues(a[k], b[k]));
  }
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => sameValues(v, b[i]));
  return a === b;
}

/** Hash of every file of the chart, so a template edit without a version bump still upgrades. */
export function chartHash(chartDir: string): string {
  const h = createHash('sha256');
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const abs = join(dir, name);
      if (statSync(abs).isDirectory()) walk(abs);
      else h.update(`${relative(chartDir, abs).split(sep).join('/')}\0`).update(readFileSync(abs));
    }
  };
  walk(chartDir);
  return h.digest('hex').slice(0, 16);
}

const parsedValues = new Map<string, { stamp: string; values: Values }>();

/**
 * A values file, parsed once per version of the file: validate reads values.yaml for every profile,
 * and YAML parsing is most of its own CPU. Each caller gets its own copy to change.
 */
export function readValuesFile(path: string): Values {
  const { mtimeMs, size } = statSync(path);
  const stamp = `${mtimeMs}:${size}`;
  let hit = parsedValues.get(path);
  if (hit?.stamp !== stamp) {
    hit = { stamp, values: (parseYaml(readFileSync(path, 'utf8')) ?? {}) as Values };
    parsedValues.set(path, hit);
  }
  return structuredClone(hit.values);
}

/** The chart the toolkit installs, and the values file of a profile. */
export function chartDir(root: string): string {
  return join(root, 'helm', 'taskflow');
}

/** The two layers the declaration sits between: a profile's values file (empty when the chart has none), and values.yaml with it merged in. */
export function chartLayers(chart: string, profile: string): { profileValues: Values; chartValues: Values } {
  const file = profileFileIn(chart, profile);
  const profileValues = existsSync(file) ? readValuesFile(file) : {};
  return { profileValues, chartValues: mergeValues(readValuesFile(join(chart, 'values.yaml')), profileValues) };
}

/** A profile's values file in a chart directory (values-dev.yaml). */
export function profileFileIn(chart: string, profile: string): string {
  return join(chart, `values-${profile}.yaml`);
}

/** A profile's values file in the project's chart. */
export function profileValuesFile(root: string, profile: string): string {
  return profileFileIn(chartDir(root), profile);
}
