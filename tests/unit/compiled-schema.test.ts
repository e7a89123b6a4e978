// compiledSchema: a validator compiled once, kept as ajv's standalone code and loaded from there
// afterwards, answering exactly as a fresh compile does.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { compiledSchema } from '../../scripts/lib/core/compiled-schema.ts';

const schema = {
  type: 'object',
  properties: { port: { type: 'integer', default: 8000 }, name: { type: 'string', pattern: '^[a-z]+$', minLength: 2 }, tags: { type: 'array', uniqueItems: true } },
  required: ['name'],
  additionalProperties: false,
};
const options = { allErrors: true, coerceTypes: true, useDefaults: true, strict: false, validateSchema: false };

const Compiled = suite('compiledSchema');
let dir = '';
Compiled.before.each(() => {
  dir = mkdtempSync(join(tmpdir(), 'taskflow-schemas-'));
});
Compiled.after.each(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** The verdict, the data after defaults and coercion, and the errors, as a caller sees them. */
function answer(validate: ReturnType<typeof compiledSchema>, input: Record<string, unknown>) {
  const data = structuredClone(input);
  const ok = validate(data);
  return { ok, data, errors: validate.errors ?? null };
}

Compiled('the first call keeps one file, and a later call loads it with the same answers as a fresh compile', () => {
  const first = compiledSchema(schema, options, dir);
  assert.is(readdirSync(dir).length, 1);
  const kept = compiledSchema(schema, options, dir);
  assert.is.not(kept, first);
  assert.not.ok('schema' in kept, 'a kept validator is the standalone code, not ajv compiling again');
  const fresh = new Ajv(options).compile(schema);
  for (const input of [{ name: 'web', port: '8080' }, { name: 'web', tags: ['a', 'b'] }, { name: 'w', tags: ['a', 'a'] }, { name: 'Web!', port: 'x', extra: 1 }, {}]) {
    assert.equal(answer(kept, input), answer(fresh, input), JSON.stringify(input));
  }
});

Compiled('another schema or other options get a file of their own', () => {
  compiledSchema(schema, options, dir);
  compiledSchema({ ...schema, required: [] }, options, dir);
  compiledSchema(schema, { ...options, coerceTypes: false }, dir);
  assert.is(readdirSync(dir).length, 3);
});

Compiled('a kept file that does not load is compiled again and replaced', () => {
  compiledSchema(schema, options, dir);
  const [name] = readdirSync(dir);
  writeFileSync(join(dir, name!), 'this is not JavaScript');
  const validate = compiledSchema(schema, options, dir);
  assert.is(validate({ name: 'web' }), true);
  assert.is(compiledSchema(schema, options, dir)({ name: 'Web!' }), false);
});

Compiled('a cache folder that cannot be made still gives a working validator', () => {
  // A file where the folder should be: refused for every user, root included.
  writeFileSync(join(dir, 'schemas'), '');
  const validate = compiledSchema(schema, options, join(dir, 'schemas'));
  assert.is(validate({ name: 'web' }), true);
  assert.is(validate({}), false);
});

Compiled.run();
