// setup with TASKFLOW_IMAGE_REGISTRY: a plain-HTTP registry (the usual local one) and a TLS one.
// `docker manifest inspect` runs in the client and skips HTTP registries without --insecure, so
// without care a rerun finds nothing there and pushes again (tests/fakes/docker cites the source).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { describeCalls, FakeMachine, mutating } from '../lib/fake-machine.ts';

const Registry = suite('image registry');
const machines: FakeMachine[] = [];

async function machine(registry: string, http: boolean): Promise<FakeMachine> {
  const m = await FakeMachine.create({ env: `TASKFLOW_IMAGE_REGISTRY=${registry}\n`, state: (s) => void (s.docker.httpRegistries = http ? [registry.split('/')[0]!] : []) });
  machines.push(m);
  return m;
}

const inspections = (m: FakeMachine) => describeCalls(m.calls()).filter((c) => c.startsWith('docker manifest inspect'));

Registry('a plain-HTTP registry is asked with --insecure, so a rerun finds the images and pushes nothing', async () => {
  const m = await machine('localhost:5000/team', true);
  const first = await m.run('setup.ts');
  assert.is(first.code, 0, first.output);
  assert.is(describeCalls(mutating(m.calls())).filter((c) => c.startsWith('docker push localhost:5000/team/')).length, 3);
  m.clearCalls();
  const second = await m.run('setup.ts');
  assert.is(second.code, 0, second.output);
  assert.equal(describeCalls(mutating(m.calls())), []);
  assert.is(inspections(m).length, 3);
  assert.ok(inspections(m).every((c) => c.startsWith('docker manifest inspect --insecure localhost:5000/team/')), inspections(m).join('\n'));
  assert.match(second.stdout, /found in the registry, skipping build/);
});

Registry('a TLS registry is asked without --insecure', async () => {
  const m = await machine('registry.example.com/team', false);
  assert.is((await m.run('setup.ts')).code, 0);
  m.clearCalls();
  assert.is((await m.run('setup.ts')).code, 0);
  assert.is(inspections(m).length, 3);
  assert.ok(inspections(m).every((c) => /^docker manifest inspect registry\.example\.com\/team\//.test(c)), inspections(m).join('\n'));
});

Registry.after(() => {
  for (const m of machines) m.remove();
});
Registry.run();
