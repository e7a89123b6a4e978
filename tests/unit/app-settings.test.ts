// The app's own settings, declared in env/app.yaml: settable in env/.env or the shell, checked
// against their declaration, masked when secret, and the "did you mean" covers them too.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { AppSetting } from '../../scripts/lib/app/declaration.ts';
import { resolveSettings } from '../../scripts/lib/app/config.ts';
import { generatedSecrets, planEnvFile } from '../../scripts/lib/app/env-file.ts';
import { mask } from '../../scripts/lib/core/secrets.ts';

const Settings = suite('app settings');

const declared: Record<string, AppSetting> = {
  MODEL_NAME: { description: 'the chat model', default: 'gpt-4o-mini', pattern: '^[a-z0-9.:-]+$' },
  JWT_SECRET_KEY: { secret: true, generate: 48 },
  STRIPE_KEY: { secret: true, required: true },
  SUPPORT_EMAIL: { required: true },
};
const file = (values: Record<string, string>) => ({ values, lines: Object.fromEntries(Object.keys(values).map((k, i) => [k, i + 1])), label: 'env/.env' });
const needed = { STRIPE_KEY: 'sk_live_123456', SUPPORT_EMAIL: 'help@example.com' };

Settings('a declared setting is read from the env file, and its default applies when it is not set', () => {
  const r = resolveSettings(file({ ...needed }), {}, {}, declared);
  assert.equal(r.problems, []);
  assert.is(r.appValues.MODEL_NAME, 'gpt-4o-mini');
  assert.is(r.appValues.STRIPE_KEY, 'sk_live_123456');
  const set = resolveSettings(file({ ...needed, MODEL_NAME: 'llama3.1:8b' }), {}, {}, declared);
  assert.is(set.appValues.MODEL_NAME, 'llama3.1:8b');
});

Settings('a declared setting can come from the shell under its own name', () => {
  const r = resolveSettings(file({ SUPPORT_EMAIL: 'a@b.c' }), { STRIPE_KEY: 'sk_from_shell_999' }, {}, declared);
  assert.equal(r.problems, []);
  assert.is(r.appValues.STRIPE_KEY, 'sk_from_shell_999');
});

Settings('a value that does not match the declared pattern is refused, naming the key and the pattern', () => {
  const r = resolveSettings(file({ ...needed, MODEL_NAME: 'GPT 4!' }), {}, {}, declared);
  assert.is(r.problems.length, 1);
  assert.is(r.problems[0]?.key, 'MODEL_NAME');
  assert.match(r.problems[0]?.message ?? '', /"GPT 4!" has the wrong form \(env\/\.env:3\)\. Fix: a value matching/);
});

Settings('a required setting that is not set is refused; a generated one is not (setup makes it)', () => {
  const r = resolveSettings(file({ STRIPE_KEY: 'sk_live_123456' }), {}, {}, declared);
  assert.equal(r.problems.map((p) => p.key), ['SUPPORT_EMAIL']);
  assert.match(r.problems[0]?.message ?? '', /is required by the app and not set/);
});

Settings('a misspelt key gets "did you mean" against the declared keys too', () => {
  const r = resolveSettings(file({ ...needed, MODEL_NAM: 'x' }), {}, {}, declared);
  assert.is(r.problems[0]?.key, 'MODEL_NAM');
  assert.match(r.problems[0]?.message ?? '', /did you mean MODEL_NAME\?/);
});

Settings('a declared secret is masked wherever the toolkit prints, and never quoted in a problem', () => {
  resolveSettings(file({ ...needed, STRIPE_KEY: 'sk_live_very_secret_42' }), {}, {}, declared);
  assert.is(mask('key=sk_live_very_secret_42'), 'key=***');
  const bad = resolveSettings(file({ ...needed }), {}, {}, { ...declared, STRIPE_KEY: { secret: true, pattern: '^sk_test_' } });
  assert.match(bad.problems[0]?.message ?? '', /the value has the wrong form/);
  assert.not.match(bad.problems[0]?.message ?? '', /sk_live/);
});

Settings('secrets declared with generate: are generated into the env file once, beside the toolkit\'s own', () => {
  const wanted = generatedSecrets({ app: { settings: declared } } as Parameters<typeof generatedSecrets>[0]);
  assert.is(wanted.JWT_SECRET_KEY, 48);
  assert.ok('BETTER_AUTH_SECRET' in wanted && 'POSTGRES_PASSWORD' in wanted);
  assert.not.ok('STRIPE_KEY' in wanted);
  assert.equal(planEnvFile(true, { BETTER_AUTH_SECRET: 'x', POSTGRES_PASSWORD: 'y' }, wanted).fill, ['JWT_SECRET_KEY']);
  assert.equal(planEnvFile(true, { BETTER_AUTH_SECRET: 'x', POSTGRES_PASSWORD: 'y', JWT_SECRET_KEY: 'z' }, wanted).fill, []);
});

Settings.run();
