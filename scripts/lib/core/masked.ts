// What output shows in place of secrets: the release's values (dry run, verbose) and rendered Secret
// objects (render) with each secret value replaced by one mask, their keys kept, so a reader sees
// what is set without seeing it. secrets.ts masks the registered values in all other text.
import { isMap, isScalar, Scalar, type Document } from 'yaml';

export const MASK = '********';

type Values = Record<string, unknown>;

const isObject = (v: unknown): v is Values => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Every non-empty string below `v` masked; an empty one stays empty, since it says "not set, the chart generates it". */
function maskLeaves(v: unknown): unknown {
  if (typeof v === 'string') return v === '' ? v : MASK;
  if (Array.isArray(v)) return v.map(maskLeaves);
  if (isObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, maskLeaves(x)]));
  return v;
}

/**
 * The chart values with their secrets masked: everything under `secrets` but the name of an
 * existing Secret, the database password, and an external database URL (it holds a password).
 */
export function maskedReleaseValues(values: Values): Values {
  const out = structuredClone(values);
  if (isObject(out.secrets)) {
    const { existingSecret, ...rest } = out.secrets;
    out.secrets = { ...(maskLeaves(rest) as Values), ...(existingSecret === undefined ? {} : { existingSecret }) };
  }
  const pg = out.postgresql;
  if (isObject(pg) && isObject(pg.auth) && 'password' in pg.auth) pg.auth.password = maskLeaves(pg.auth.password);
  const ext = out.externalDatabase;
  if (isObject(ext) && 'url' in ext) ext.url = maskLeaves(ext.url);
  return out;
}

/**
 * Masks a rendered Secret in place: each value of `data` and `stringData` becomes the mask, its
 * key stays. An empty value stays empty. Returns the keys, for the Secret's one-line summary; other
 * kinds are left alone (undefined).
 */
export function maskSecretDocument(doc: Document): string[] | undefined {
  if (doc.get('kind') !== 'Secret') return undefined;
  const keys: string[] = [];
  for (const field of ['data', 'stringData']) {
    const map = doc.get(field, true);
    if (!isMap(map)) continue;
    for (const pair of map.items) {
      keys.push(String(isScalar(pair.key) ? pair.key.value : pair.key));
      const value = isScalar(pair.value) ? pair.value.value : pair.value;
      if (value === '' || value === null) continue;
      const masked = new Scalar(MASK);
      // Quoted, as helm writes these values; unquoted, a leading * would read as a YAML alias.
      masked.type = Scalar.QUOTE_DOUBLE;
      pair.value = masked;
    }
  }
  return keys;
}
