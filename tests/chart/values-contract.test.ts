// values.yaml, its ## @param documentation and values.schema.json stay in step: every key is
// documented, every key is in the schema, and every key the schema knows has a default.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { chartDir } from '../lib/chart.ts';

type Schema = {
  type?: string | string[];
  properties?: Record<string, Schema>;
  $ref?: string;
  definitions?: Record<string, Schema>;
  additionalProperties?: boolean | Schema;
  items?: Schema;
  anyOf?: Schema[];
};
const schema = JSON.parse(readFileSync(join(chartDir, 'values.schema.json'), 'utf8')) as Schema;
const valuesText = readFileSync(join(chartDir, 'values.yaml'), 'utf8');
const values = parse(valuesText) as Record<string, unknown>;

const resolve = (s: Schema): Schema => (s.$ref ? resolve(schema.definitions?.[s.$ref.replace('#/definitions/', '')] ?? {}) : s);

/** The schema of a map's entries when it is a map of declared objects (components: name → component). */
function entrySchema(s: Schema): Schema | undefined {
  const r = resolve(s);
  if (r.properties || typeof r.additionalProperties !== 'object') return undefined;
  return resolve(r.additionalProperties).properties ? r.additionalProperties : undefined;
}

/** Paths of the keys a schema object declares, down to where it stops declaring; "*" stands for a map's keys. */
function schemaPaths(s: Schema, prefix = ''): string[] {
  const r = resolve(s);
  const entries = entrySchema(r);
  if (entries) return schemaPaths(entries, `${prefix}.*`).concat(`${prefix}.*`);
  if (!r.properties) return [];
  return Object.entries(r.properties).flatMap(([k, sub]) => {
    const path = prefix ? `${prefix}.${k}` : k;
    const inner = schemaPaths(sub, path);
    return inner.length ? [path, ...inner] : [path];
  });
}

type ValuePath = { path: string; declared: string };

/** Paths of values.yaml down to the leaves, each with its schema path ("components.*.image"); free-form maps (env, annotations) are leaves. */
function valuePaths(v: unknown, s: Schema, prefix = '', declaredPrefix = ''): ValuePath[] {
  const r = resolve(s);
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return [];
  const entries = entrySchema(r);
  if (!r.properties && !entries) return [];
  return Object.entries(v as Record<string, unknown>).flatMap(([k, sub]) => {
    const path = prefix ? `${prefix}.${k}` : k;
    const key = entries ? '*' : k;
    const declared = declaredPrefix ? `${declaredPrefix}.${key}` : key;
    return [{ path, declared }, ...valuePaths(sub, entries ?? r.properties?.[k] ?? {}, path, declared)];
  });
}

/** Every object schema in the file, with where it is, for the strictness check. */
function objectSchemas(s: Schema, where: string): [string, Schema][] {
  const here: [string, Schema][] = s.properties ? [[where, s]] : [];
  const children: [string, Schema | undefined][] = [
    ...Object.entries(s.properties ?? {}).map(([k, sub]): [string, Schema] => [`${where}.${k}`, sub]),
    ...Object.entries(s.definitions ?? {}).map(([k, sub]): [string, Schema] => [`#/definitions/${k}`, sub]),
    [`${where}[]`, s.items],
    [`${where}.*`, typeof s.additionalProperties === 'object' ? s.additionalProperties : undefined],
    ...(s.anyOf ?? []).map((sub, i): [string, Schema] => [`${where}.anyOf${i}`, sub]),
  ];
  return here.concat(children.flatMap(([w, sub]) => (sub ? objectSchemas(sub, w) : [])));
}

const found = valuePaths(values, schema);
const documented = new Set([...valuesText.matchAll(/^\s*## @param (\S+)/gm)].map((m) => m[1] as string));
const leafPaths = (paths: string[]) => paths.filter((p) => !paths.some((q) => q.startsWith(`${p}.`)));
// Keys that are optional by design: null/absent means "let Kubernetes or the chart pick".
const optional = new Set([
  'ingress.tls.secretName',
  'podSecurityContext.seccompProfile.localhostProfile',
  'components.*.autoscaling.behavior.scaleUp',
  'components.*.autoscaling.behavior.scaleDown.selectPolicy',
  'components.*.autoscaling.behavior.scaleDown.policies',
]);
// ephemeral-storage requests and limits are allowed but left to the cluster by default.
const expectedDefault = (p: string) => !optional.has(p) && !p.endsWith('.ephemeral-storage') && !p.includes('.scaleUp.');

const Contract = suite('values contract');

Contract('every key of values.yaml is declared in the schema', () => {
  const declared = new Set(schemaPaths(schema));
  assert.equal(found.filter((p) => !declared.has(p.declared)).map((p) => p.path), []);
});

Contract('every key the schema declares has a default in values.yaml', () => {
  const present = new Set(found.map((p) => p.declared));
  assert.equal(schemaPaths(schema).filter((p) => !present.has(p) && expectedDefault(p)), []);
});

Contract('every component in values.yaml spells out every key a component has', () => {
  const components = Object.keys(values.components as Record<string, unknown>);
  assert.equal(components, ['backend', 'frontend', 'mcp']);
  const present = new Set(found.map((p) => p.path));
  const missing = components.flatMap((name) =>
    schemaPaths(schema)
      .filter((p) => p.startsWith('components.*.') && expectedDefault(p))
      .map((p) => p.replace('components.*.', `components.${name}.`))
      .filter((p) => !present.has(p)),
  );
  assert.equal(missing, []);
});

Contract('every leaf key of values.yaml is documented with ## @param (itself or a parent below the section)', () => {
  const undocumented = leafPaths(found.map((p) => p.path)).filter((p) => {
    const parts = p.split('.');
    for (let i = parts.length; i >= 2 || (i === 1 && parts.length === 1); i--) if (documented.has(parts.slice(0, i).join('.'))) return false;
    return true;
  });
  assert.equal(undocumented, []);
});

Contract('every @param names a key that exists', () => {
  const present = new Set(found.map((p) => p.path));
  assert.equal([...documented].filter((p) => !present.has(p)), []);
});

Contract('every object the schema declares refuses keys it does not know', () => {
  const open = objectSchemas(schema, '(root)').filter(([, s]) => s.additionalProperties !== false).map(([where]) => where);
  assert.equal(open, []);
});

Contract.run();
