// setup --dry-run shows the helm upgrade it would run and the values it would give it on stdin,
// secrets masked: the same values render gives helm template.
import { readFileSync, writeFileSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parse as parseYaml } from 'yaml';
import { FakeMachine, mutating, type RunResult } from '../lib/fake-machine.ts';
import { defaultHelm } from '../lib/tool-versions.ts';

const DryRun = suite('setup --dry-run values');
const machines: FakeMachine[] = [];

async function machine(opts: Parameters<typeof FakeMachine.create>[0] = {}): Promise<FakeMachine> {
  const m = await FakeMachine.create(opts);
  machines.push(m);
  return m;
}

const SECRETS = {
  BETTER_AUTH_SECRET: 'auth-secret-0123456789-abcdefghijklmnopqrstuvwx',
  POSTGRES_PASSWORD: 'pg-password-0123456789-ABCDEFGHIJ',
  OPENAI_API_KEY: 'sk-test-0123456789abcdefghijklmnopqrstuvwxyz',
};
const ENV = Object.entries(SECRETS).map(([k, v]) => `${k}=${v}\n`).join('');

type Shown = { command: string; values: { secrets: Record<string, unknown>; postgresql: { auth: { password: string } }; components: Record<string, { image: { tag: string }; env: Record<string, string> }> } };

/** The command printed after `prefix` and the values block below it ("  on stdin (secrets masked):", indented 4). */
function shownCommand(stderr: string, prefix: RegExp): Shown {
  const lines = stderr.split('\n');
  const at = lines.findIndex((l) => prefix.test(l));
  assert.ok(at >= 0, `no line matches ${prefix}:\n${stderr}`);
  assert.is(lines[at + 1], '  on stdin (secrets masked):');
  const block: string[] = [];
  for (const l of lines.slice(at + 2)) {
    if (!l.startsWith('    ')) break;
    block.push(l.slice(4));
  }
  return { command: lines[at] as string, values: parseYaml(block.join('\n')) as Shown['values'] };
}

function noSecretIn(r: RunResult): void {
  for (const [key, value] of Object.entries(SECRETS)) assert.not.ok(r.output.includes(value), `${key} was printed`);
}

DryRun('on a fresh machine: the helm upgrade command it would run, and its stdin values with every secret masked', async () => {
  const m = await machine({ env: ENV });
  const r = await m.run('setup.ts', ['--dry-run']);
  assert.is(r.code, 0, r.output);
  assert.equal(mutating(m.calls()), []);
  const shown = shownCommand(r.stderr, /^\[dry-run\] would run: \S*helm upgrade --install taskflow \S+ --namespace taskflow --kube-context taskflow --values \S+values-dev\.yaml --values - --wait --timeout 10m$/);
  assert.is(shown.values.secrets.betterAuthSecret, '********');
  assert.is(shown.values.secrets.openaiApiKey, '********');
  // Not set: the chart generates it, and an empty value says so.
  assert.is(shown.values.secrets.mcpSharedSecret, '');
  assert.is(shown.values.postgresql.auth.password, '********');
  assert.match(shown.values.components.backend?.image.tag ?? '', /^[0-9a-f]{12}$/);
  assert.is(shown.values.components.backend?.env.CORS_ORIGINS, 'http://localhost:3000,http://taskflow.local');
  noSecretIn(r);

  // render gives helm template the very same values (a fresh machine: no scaled values to keep).
  const rendered = await m.run('render.ts', ['--verbose'], { TASKFLOW_HELM: await defaultHelm() });
  assert.is(rendered.code, 0, rendered.output);
  assert.equal(shownCommand(rendered.stderr, /^\$ \S*helm template taskflow /).values, shown.values);
});

DryRun('on a running cluster with a changed setting: the upgrade and its values, the new value shown, the secrets not', async () => {
  const m = await machine({ env: ENV });
  assert.is((await m.run('setup.ts')).code, 0);
  writeFileSync(m.envFile, `${readFileSync(m.envFile, 'utf8')}MODEL_NAME=gpt-4.1-mini\n`);
  m.clearCalls();
  const r = await m.run('setup.ts', ['--dry-run']);
  assert.is(r.code, 0, r.output);
  assert.equal(mutating(m.calls()), []);
  const shown = shownCommand(r.stderr, /^\[dry-run\] would run: \S*helm upgrade --install taskflow /);
  assert.is(shown.values.components.backend?.env.MODEL_NAME, 'gpt-4.1-mini');
  assert.is(shown.values.secrets.betterAuthSecret, '********');
  assert.is(shown.values.postgresql.auth.password, '********');
  noSecretIn(r);
});

DryRun.after(() => {
  for (const m of machines) m.remove();
});
DryRun.run();
