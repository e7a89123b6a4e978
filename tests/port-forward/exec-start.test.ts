// Exec.start, the seam for long-running children: lines as they come (masked), stop(), dry-run, a missing command.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Exec } from '../../scripts/lib/core/exec.ts';
import { registerSecret } from '../../scripts/lib/core/secrets.ts';
import { PrerequisiteError } from '../../scripts/lib/core/errors.ts';
import { waitFor } from '../../scripts/lib/core/wait.ts';

const start = suite('Exec.start');

start('delivers each line as it comes, with registered secrets masked', async () => {
  registerSecret('hunter2-secret');
  const lines: string[] = [];
  const child = new Exec().start(process.execPath, ['-e', 'console.log("a"); console.error("token hunter2-secret"); process.stdout.write("tail")'], {
    onLine: (line, stream) => lines.push(`${stream}:${line}`),
  });
  const exit = await child.exited;
  assert.equal(exit, { code: 0, signal: null });
  assert.equal(lines.sort(), ['stderr:token ***', 'stdout:a', 'stdout:tail']);
  assert.not.ok(child.running());
});

start('stop() ends a child that runs until told', async () => {
  const polite = new Exec().start(process.execPath, ['-e', 'setInterval(() => {}, 1000)']);
  try {
    assert.ok(polite.running());
    assert.equal(await polite.stop(), { code: null, signal: 'SIGTERM' });
  } finally {
    polite.kill('SIGKILL');
  }
});

start('stop() escalates to SIGKILL when SIGTERM is ignored', async () => {
  const lines: string[] = [];
  const stubborn = new Exec().start(process.execPath, ['-e', 'process.on("SIGTERM", () => {}); console.log("up"); setInterval(() => {}, 1000)'], {
    onLine: (line) => lines.push(line),
  });
  try {
    // The child prints "up" once its SIGTERM handler is in place; before that SIGTERM would simply end it.
    await waitFor(
      () => {
        if (!stubborn.running()) throw new Error('the child exited before printing "up"');
        return lines.includes('up');
      },
      { timeout: 10_000, interval: 10, describe: 'the child to print "up"' },
    );
    assert.equal(await stubborn.stop(200), { code: null, signal: 'SIGKILL' });
  } finally {
    stubborn.kill('SIGKILL');
  }
});

start('under dry-run it prints the command and starts nothing', async () => {
  const logged: string[] = [];
  const exec = new Exec({ dryRun: true, log: (l) => logged.push(l) });
  const child = exec.start('kubectl', ['--context', 'kind-x', 'port-forward', 'service/a b', '3000:3000']);
  assert.is(child.pid, undefined);
  assert.equal(await child.exited, { code: 0, signal: null });
  assert.equal(logged, ["[dry-run] would start: kubectl --context kind-x port-forward 'service/a b' 3000:3000"]);
  assert.equal(exec.history, [{ command: "kubectl --context kind-x port-forward 'service/a b' 3000:3000", dryRun: true }]);
});

start('a command that is not on PATH settles as a missing prerequisite, never a throw', async () => {
  const exit = await new Exec().start('taskflow-no-such-tool', ['x']).exited;
  assert.ok(exit.error instanceof PrerequisiteError);
  assert.match(exit.error?.message ?? '', /taskflow-no-such-tool was not found on PATH/);
});

start.run();
