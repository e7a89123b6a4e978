// A malformed app declaration stops every command before it starts anything: exit 2, each key
// named with its fix, no process run, and neither the env file nor anything else written.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { bad } from '../fixtures/bad-declarations.ts';
import { FakeMachine } from '../lib/fake-machine.ts';

const Refused = suite('malformed declarations');
let m: FakeMachine;
const ENV = 'TASKFLOW_PROFILE=dev\n';

Refused.before(async () => {
  m = await FakeMachine.create({ env: ENV });
});
Refused.after(() => m.remove());

for (const [what, text, key, fix] of bad) {
  Refused(`setup refuses ${what}: exit 2, the key and its fix, nothing run or written`, async () => {
    const file = join(m.dir, 'bad-app.yaml');
    writeFileSync(file, text);
    m.clearCalls();
    const state = readFileSync(m.statePath, 'utf8');
    const r = await m.run('setup.ts', [], { TASKFLOW_APP_FILE: file });
    assert.is(r.code, 2, r.output);
    assert.ok(r.stderr.includes(`${key}:`), `${key} not named:\n${r.stderr}`);
    assert.match(r.stderr, fix);
    assert.not.match(r.stderr, /\n\s+at /, 'a stack trace reached the user');
    assert.equal(m.calls(), []);
    assert.is(readFileSync(m.envFile, 'utf8'), ENV);
    assert.is(readFileSync(m.statePath, 'utf8'), state);
  });
}

for (const what of ['port 70000', 'a component named postgresql, which the chart takes', 'one variable from env and accessUrls']) {
  Refused(`every other command refuses ${what} the same way`, async () => {
    const file = join(m.dir, 'bad-app.yaml');
    const [, text, key] = bad.find(([w]) => w === what) as (typeof bad)[number];
    writeFileSync(file, text);
    for (const [script, args] of [['scale.ts', ['--hpa', 'off']], ['cleanup.ts', ['--yes']], ['validate.ts', []], ['validate.ts', ['--static']], ['port-forward.ts', []], ['status.ts', []], ['logs.ts', []], ['rollback.ts', []]] as const) {
      m.clearCalls();
      const r = await m.run(script, [...args], { TASKFLOW_APP_FILE: file });
      assert.is(r.code, 2, `${script}: ${r.output}`);
      assert.ok(r.output.includes(`${key}:`), `${script} does not name ${key}:\n${r.output}`);
      assert.equal(m.calls(), [], script);
    }
  });
}

Refused.run();
