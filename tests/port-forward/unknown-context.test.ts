// port-forward as a real process on a deployed fake machine, pointed at a kube context the
// kubeconfig does not have: port-forward asks kubectl directly, with no context check of its own,
// so what the user sees is built from kubectl's own error (the fake's unknown-context wording).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { FakeMachine } from '../lib/fake-machine.ts';

const Unknown = suite('port-forward with an unknown kube context');
const machines: FakeMachine[] = [];

Unknown('stops at the first kubectl with exit 3, naming the context and how to fix it, without a stack trace', async () => {
  const m = await FakeMachine.deployed();
  machines.push(m);
  const r = await m.run('port-forward.ts', ['--context', 'taskflw', '--auto-port']);
  assert.is(r.code, 3, r.output);
  assert.match(r.stderr, /✖ kube context "taskflw" does not exist/);
  assert.match(r.stderr, /→ Run setup first, or name an existing context with --context \(kubectl config get-contexts lists them\)\./);
  assert.not.match(r.output, /^\s+at /m, 'a stack trace was printed');
  // It reached kubectl with that context, once per tunnel at most, and gave up instead of retrying.
  const forwards = m.calls().filter((c) => c.tool === 'kubectl' && c.args.includes('port-forward'));
  assert.ok(forwards.length >= 1 && forwards.length <= 2, forwards.map((c) => c.args.join(' ')).join('\n'));
  assert.ok(forwards.every((c) => c.args.slice(0, 2).join(' ') === '--context taskflw'));
  assert.equal(m.liveProcesses(), []);
});

Unknown.after(() => {
  for (const m of machines) m.remove();
});
Unknown.run();
