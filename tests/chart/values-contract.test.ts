// values.yaml, its ## @param documentation and values.schema.json stay in step: every key is
// documented, every key is in the schema, and every key the schema knows has a default.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { chartDir } from '../lib/chart.ts';

type Schema = { type?: string | string[]; properties?: Record<string, Schema>; $ref?: string; definitions?: Record<string, Schema>; additionalProperties?: boolean | Schema };
const schema = JSON.parse(readFileSync(join(chartDir, 'values.schema.json'), 'utf8')) as Schema;
const valuesText = readFileSync(join(chartDir, 'values.yaml'), 'utf8');
const values = parse(valuesText) as Record<string, unknown>;

const resolve = (s: Schema): Schema => (s.$ref ? resolve(schema.definitions?.[s.$ref.replace('#/definitions/', '')] ?? {}) : s);

/** Paths of the keys a schema object declares, down to where it stops declaring (free-form maps). */
function schemaPaths(s: Schema, prefix = ''): string[] {
  const r = resolve(s);
  if (!r.properties) return [];
  return Object.entries(r.properties).flatMap(([k, sub]) => {
    const path = prefix ? `${prefix}.${k}` : k;
    const inner = schemaPaths(sub, path);
    return inner.length ? [path, ...inner] : [path];
  });
}

/** Paths of values.yaml down to the leaves; free-form maps (env, annotations) count as leaves. */
function valuePaths(v: unknown, s: Schema, prefix = ''): string[] {
  const r = resolve(s);
  if (!r.properties || typeof v !== 'object' || v === null || Array.isArray(v)) return [];
  return Object.entries(v as Record<string, unknown>).flatMap(([k, sub]) => {
    const path = prefix ? `${prefix}.${k}` : k;
    return [path, ...valuePaths(sub, r.properties?.[k] ?? {}, path)];
  });
}

const documented = new Set([...valuesText.matchAll(/^\s*## @param (\S+)/gm)].map((m) => m[1] as string));
const leafPaths = (paths: string[]) => paths.filter((p) => !paths.some((q) => q.startsWith(`${p}.`)));

const Contract = suite('values contract');

Contract('every key of values.yaml is declared in the schema', () => {
  const declared = new Set(schemaPaths(schema));
  assert.equal(valuePaths(values, schema).filter((p) => !declared.has(p)), []);
});

Contract('every key the schema declares has a default in values.yaml', () => {
  const present = new Set(valuePaths(values, schema));
  // Keys that are optional by design: null/absent means "let Kubernetes or the chart pick".
  const optional = new Set(['ingress.tls.secretName', 'podSecurityContext.seccompProfile.localhostProfile']);
  // ephemeral-storage requests and limits are allowed but left to the cluster by default.
  assert.equal(schemaPaths(schema).filter((p) => !present.has(p) && !optional.has(p) && !p.endsWith('.ephemeral-storage')), []);
});

Contract('every leaf key of values.yaml is documented with ## @param (itself or a parent below the section)', () => {
  const undocumented = leafPaths(valuePaths(values, schema)).filter((p) => {
    const parts = p.split('.');
    for (let i = parts.length; i >= 2 || (i === 1 && parts.length === 1); i--) if (documented.has(parts.slice(0, i).join('.'))) return false;
    return true;
  });
  assert.equal(undocumented, []);
});

Contract('every @param names a key that exists', () => {
  const present = new Set(valuePaths(values, schema));
  assert.equal([...documented].filter((p) => !present.has(p)), []);
});

Contract.run();
