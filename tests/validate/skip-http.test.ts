// validate --skip-http: the cluster's objects are checked, and nothing goes over HTTP: no
// port-forward is opened (pods unreachable from here, or CI). Flags that need HTTP are refused.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { FakeMachine } from '../lib/fake-machine.ts';

const SkipHttp = suite('validate --skip-http');
const machines: FakeMachine[] = [];

SkipHttp('checks every cluster object and opens no port-forward', async () => {
  const m = await FakeMachine.deployed();
  machines.push(m);
  const r = await m.run('validate.ts', ['--skip-http']);
  assert.is(r.code, 0, r.output);
  for (const check of ['deployments available', 'services have endpoints', 'no container restarting in a loop', 'images are the ones setup built']) assert.match(r.stdout, new RegExp(`✔ ${check}`), check);
  assert.not.match(r.stdout, /HTTP smoke workflow/);
  assert.not.ok(m.calls().some((c) => c.args.includes('port-forward')));
});

SkipHttp('still fails on what the objects show: a crash-looping pod (exit 1)', async () => {
  const m = await FakeMachine.deployed();
  machines.push(m);
  m.patchState((s) => {
    const pod = s.kube.pods.taskflow!.taskflow!.find((p) => p.name.startsWith('taskflow-backend-'))!;
    Object.assign(pod, { ready: false, waiting: 'CrashLoopBackOff', restarts: 7 });
  });
  const r = await m.run('validate.ts', ['--skip-http']);
  assert.is(r.code, 1, r.output);
  assert.match(r.stdout, /✖ no container restarting in a loop/);
});

for (const flag of [['--url', 'http://taskflow.local'], ['--persistence'], ['--self-heal']]) {
  SkipHttp(`${flag[0]} with --skip-http is refused before anything runs (exit 2)`, async () => {
    const m = await FakeMachine.create();
    machines.push(m);
    const r = await m.run('validate.ts', ['--skip-http', ...flag]);
    assert.is(r.code, 2, r.output);
    assert.match(r.stderr, /--skip-http/);
    assert.equal(m.calls(), []);
  });
}

SkipHttp.after(() => {
  for (const m of machines) m.remove();
});
SkipHttp.run();
