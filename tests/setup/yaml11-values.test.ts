// A user value that YAML 1.1 reads as a boolean (off, yes, n), taken through setup against the fake
// CLIs: setup sends its values to helm on stdin, and helm reads them as YAML 1.1 (see the fake
// helm's readValues). Written unquoted, "off" would arrive as false: the release would hold the
// wrong value, and every rerun would see a difference and upgrade again.
import { readFileSync, writeFileSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { describeCalls, FakeMachine, mutating, type FakeState } from '../lib/fake-machine.ts';

const Yaml11 = suite('setup: values helm reads as YAML 1.1');
const machines: FakeMachine[] = [];

type Env = Record<string, unknown>;
const release = (s: FakeState) => s.helm.releases['taskflow/taskflow/taskflow'];
const webEnv = (s: FakeState) => ((release(s)?.revisions.at(-1)?.values as { components: { web: { env: Env } } }).components.web.env);
const configMap = (s: FakeState, name: string) =>
  (release(s)?.revisions.at(-1)?.manifests as { kind: string; metadata: { name: string }; data?: Env }[]).find((o) => o.kind === 'ConfigMap' && o.metadata.name === name);

Yaml11('a setting "off" and declared env values "yes" and "n" reach the release as strings; the rerun skips the upgrade', async () => {
  // NOTES_GREETING is a setting the notes app's web component reads (settings: [NOTES_GREETING]),
  // here set in the env file; NOTES_COMPACT and NOTES_WRAP are env values in its declaration.
  const m = await FakeMachine.create({ app: 'tests/fixtures/notes-app/app.yaml', env: 'NOTES_GREETING=off\n' });
  machines.push(m);
  const declaration = parseYaml(readFileSync(m.appFile, 'utf8')) as { components: { web: { env?: Env } } };
  declaration.components.web.env = { NOTES_COMPACT: 'yes', NOTES_WRAP: 'n' };
  writeFileSync(m.appFile, stringifyYaml(declaration));

  const first = await m.run('setup.ts');
  assert.is(first.code, 0, first.output);
  const s = m.state();
  const env = webEnv(s);
  assert.is(env.NOTES_GREETING, 'off');
  assert.is(env.NOTES_COMPACT, 'yes');
  assert.is(env.NOTES_WRAP, 'n');
  // What the real helm rendered from them: the pods get the strings.
  const data = configMap(s, 'taskflow-web')?.data ?? {};
  assert.equal([data.NOTES_GREETING, data.NOTES_COMPACT, data.NOTES_WRAP], ['off', 'yes', 'n']);

  m.clearCalls();
  const rerun = await m.run('setup.ts');
  assert.is(rerun.code, 0, rerun.output);
  assert.match(rerun.stdout, /unchanged: revision 1 deployed/);
  assert.equal(describeCalls(mutating(m.calls())), []);
  assert.not.ok(m.calls().some((c) => c.tool === 'helm' && c.args[0] === 'upgrade'), 'the rerun called helm upgrade');
  assert.is(release(m.state())?.revisions.length, 1);
});

Yaml11.after(() => {
  for (const m of machines) m.remove();
});
Yaml11.run();
