// The configuration contract: merging order, every problem at once, secrets never echoed.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { envSchema, parseEnvText, resolveSettings, settingKeys } from '../../scripts/lib/app/config.ts';
import { root } from '../lib/chart.ts';

const file = (text: string) => {
  const p = parseEnvText(text, 'env/.env');
  return { parsed: p, input: { values: p.values, lines: p.lines, label: 'env/.env' } };
};

const Config = suite('configuration');

Config('an empty file gives every default', () => {
  const r = resolveSettings(file('').input, {});
  assert.equal(r.problems, []);
  assert.is(r.settings?.TASKFLOW_DRIVER, 'minikube');
  assert.is(r.settings?.TASKFLOW_CPUS, 2);
  assert.is(r.settings?.BETTER_AUTH_SECRET, undefined);
});

Config('numbers are typed, and flags beat TASKFLOW_ variables which beat the file', () => {
  const r = resolveSettings(file('TASKFLOW_CPUS=3\nTASKFLOW_DRIVER=kind\nTASKFLOW_NAMESPACE=from-file\n').input, { TASKFLOW_DRIVER: 'docker-desktop', TASKFLOW_CPUS: '4' }, {
    TASKFLOW_DRIVER: { value: 'minikube', flag: '--driver' },
  });
  assert.is(r.settings?.TASKFLOW_CPUS, 4);
  assert.is(r.settings?.TASKFLOW_DRIVER, 'minikube');
  assert.is(r.settings?.TASKFLOW_NAMESPACE, 'from-file');
  assert.equal(r.sources.TASKFLOW_DRIVER, { kind: 'flag', flag: '--driver' });
});

Config('generic variables of the shell (DATABASE_URL) are not read from the environment', () => {
  const r = resolveSettings(file('').input, { DATABASE_URL: 'postgresql://someone:else@prod/db', OPENAI_API_KEY: 'sk-x' });
  assert.is(r.settings?.DATABASE_URL, '');
  assert.is(r.settings?.OPENAI_API_KEY, '');
});

Config('every problem is listed at once, with the line it came from', () => {
  const { input, parsed } = file('TASKFLOW_CPUS=abc\nTASKFLOW_MEMORY_MB=100\nTASKFLOW_DRIVER=k3d\nTASKFLOW_PORFILE=dev\n');
  const r = resolveSettings(input, {});
  const all = [...parsed.problems, ...r.problems];
  assert.is(all.length, 4);
  const byKey = Object.fromEntries(all.map((p) => [p.key, p.message]));
  assert.match(byKey.TASKFLOW_CPUS ?? '', /"abc" is not a whole number \(env\/\.env:1\)\. Fix: a whole number from 1 to 64/);
  assert.match(byKey.TASKFLOW_MEMORY_MB ?? '', /out of range \(env\/\.env:2\)/);
  assert.match(byKey.TASKFLOW_DRIVER ?? '', /"k3d" is not allowed/);
  assert.match(byKey.TASKFLOW_PORFILE ?? '', /did you mean TASKFLOW_PROFILE\?/);
  assert.is(r.settings, undefined);
});

Config('a short secret is reported by its length, never by its value', () => {
  const r = resolveSettings(file('BETTER_AUTH_SECRET=hunter2-is-my-password\nPOSTGRES_PASSWORD=has spaces in it!!\n').input, {});
  const text = JSON.stringify(r.problems);
  assert.match(text, /BETTER_AUTH_SECRET/);
  assert.match(text, /is 22 characters long, needs at least 32/);
  assert.match(text, /POSTGRES_PASSWORD.*the value has the wrong form/);
  assert.not.ok(text.includes('hunter2'));
  assert.not.ok(text.includes('has spaces'));
});

Config('an empty secret means "generate one", not "too short"', () => {
  const r = resolveSettings(file('BETTER_AUTH_SECRET=\nPOSTGRES_PASSWORD=\n').input, {});
  assert.equal(r.problems, []);
  assert.is(r.settings?.BETTER_AUTH_SECRET, undefined);
});

Config('lines that are not KEY=value, duplicates and unclosed quotes are problems, not silently dropped', () => {
  const { parsed } = file('TASKFLOW_CPUS=2\njust some words\nTASKFLOW_CPUS=3\nTASKFLOW_NAMESPACE="open\n');
  const msgs = parsed.problems.map((p) => `${p.key}: ${p.message}`);
  assert.is(msgs.length, 3, msgs.join('\n'));
  assert.match(msgs[0] ?? '', /^env\/\.env:2: is not a KEY=value line/);
  assert.match(msgs[1] ?? '', /TASKFLOW_CPUS: is set twice \(env\/\.env lines 1 and 3\)/);
  assert.match(msgs[2] ?? '', /quote \(\"\) that is never closed/);
});

Config('comments, blank lines, export prefixes, quotes and CRLF line ends are accepted', () => {
  const { parsed, input } = file('# comment\r\n\r\nexport TASKFLOW_CPUS=3\r\nTASKFLOW_CLUSTER_NAME="dev-box"\r\nTASKFLOW_INGRESS_HOST=todo.local # trailing comment\r\n');
  assert.equal(parsed.problems, []);
  const r = resolveSettings(input, {});
  assert.equal(r.problems, []);
  assert.is(r.settings?.TASKFLOW_CPUS, 3);
  assert.is(r.settings?.TASKFLOW_CLUSTER_NAME, 'dev-box');
  assert.is(r.settings?.TASKFLOW_INGRESS_HOST, 'todo.local');
});

Config.run();

const Contract = suite('env/.env.example and env/schema.json');

Contract('env/schema.json is a valid draft-07 JSON Schema', () => {
  const ajv = new Ajv({ strict: false });
  assert.ok(ajv.validateSchema(envSchema), ajv.errorsText(ajv.errors));
});

Contract('.env.example documents every setting of the schema, and nothing else', () => {
  const text = readFileSync(join(root, 'env', '.env.example'), 'utf8');
  const keys = [...text.matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]);
  assert.equal([...keys].sort(), [...settingKeys].sort());
  for (const key of settingKeys) assert.match(text, new RegExp(`^# ${key}: .+Default: `, 'm'), `${key} has no comment with its default`);
});

Contract('.env.example holds no secret value and passes its own validation', () => {
  const text = readFileSync(join(root, 'env', '.env.example'), 'utf8');
  const { parsed, input } = file(text);
  assert.equal(parsed.problems, []);
  for (const [k, v] of Object.entries(parsed.values)) {
    if (envSchema.properties[k]?.['x-secret']) assert.is(v, '', `${k} has a value in the example`);
  }
  assert.equal(resolveSettings(input, {}).problems, []);
});

Contract.run();
