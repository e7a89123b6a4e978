// What output shows in place of secrets: the release's values (dry run, verbose) with each secret
// value replaced by one mask, their keys kept, so a reader sees what is set without seeing it.
// secrets.ts masks the registered values in all other text.

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
