// A JSON schema's ajv validator, compiled once and kept. ajv turns a schema into JavaScript on every
// start of every command: loading ajv and compiling env/schema.json and env/app.schema.json cost
// about 70 ms of CPU, a tenth of `validate --static`. The code ajv writes for a schema (its
// standalone output, the same function) is kept in .cache/schemas/ under a hash of the schema, the
// options and ajv's version, so an edited schema or another ajv gets a file of its own; later
// starts load that file in about 4 ms and never load ajv. A cache that cannot be written or read
// costs nothing but the compile.
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Ajv as AjvClass, Options, ValidateFunction } from 'ajv';
import { keepFile, keptDir } from './kept-file.ts';

// require, not import: ajv itself is loaded only when a schema has no kept validator yet.
const require = createRequire(import.meta.url);

/** The validator of `schema` under `options`: the one kept in `dir`, else compiled now and kept there. */
export function compiledSchema(schema: object, options: Options, dir = keptDir('schemas')): ValidateFunction {
  const ajvVersion = (require('ajv/package.json') as { version: string }).version;
  const key = createHash('sha256').update(JSON.stringify({ schema, options, ajvVersion })).digest('hex').slice(0, 32);
  const file = join(dir, `${key}.cjs`);
  try {
    return require(file) as ValidateFunction;
  } catch {
    // Not kept yet (or unreadable): compile below.
  }
  const { Ajv } = require('ajv') as { Ajv: typeof AjvClass };
  const standaloneCode = (require('ajv/dist/standalone') as { default: (ajv: AjvClass, validate: ValidateFunction) => string }).default;
  const ajv = new Ajv({ ...options, code: { ...options.code, source: true } });
  const validate = ajv.compile(schema);
  // The code requires ajv's runtime helpers by package name; named by their full path instead, it
  // loads from wherever it is kept.
  const code = standaloneCode(ajv, validate).replace(/require\("([^"]+)"\)/g, (_, id: string) => `require(${JSON.stringify(require.resolve(id))})`);
  keepFile(file, (path) => writeFileSync(path, code));
  return validate;
}
