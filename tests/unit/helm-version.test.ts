// helmVersion: `helm version` asked once per helm binary file and kept; a script or shim, a file
// replaced in place, or a helm that is not found is asked again.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Exec, type ExecResult, type RunOptions } from '../../scripts/lib/core/exec.ts';
import { PrerequisiteError } from '../../scripts/lib/core/errors.ts';
import { Helm } from '../../scripts/lib/tools/helm.ts';
import { helmVersion } from '../../scripts/lib/tools/helm-version.ts';

/** Runs nothing: counts each `helm version` and answers with `answer`. */
class VersionExec extends Exec {
  asked = 0;
  constructor(public answer = 'v4.1.4') {
    super();
  }
  override async run(_cmd: string, args: readonly string[], _opts: RunOptions = {}): Promise<ExecResult> {
    if (args[0] !== 'version') throw new Error(`unexpected: helm ${args.join(' ')}`);
    this.asked++;
    return { stdout: this.answer, stderr: '', exitCode: 0 };
  }
}

/** An executable file; `text` starting with #! makes it a script. */
function program(path: string, text: string): string {
  writeFileSync(path, text);
  chmodSync(path, 0o755);
  return path;
}
const binary = '\x7fELF not really, but not a script either';

const Version = suite('helmVersion');
let tmp = '';
let kept = '';
Version.before.each(() => {
  tmp = mkdtempSync(join(tmpdir(), 'taskflow-helm-version-'));
  kept = join(tmp, 'kept');
});
Version.after.each(() => rmSync(tmp, { recursive: true, force: true }));

Version('a helm binary is asked once; later calls read the kept answer', async () => {
  const exec = new VersionExec();
  const helm = new Helm(exec, program(join(tmp, 'helm'), binary));
  assert.is((await helmVersion(helm, { dir: kept })).raw, 'v4.1.4');
  assert.is((await helmVersion(helm, { dir: kept })).raw, 'v4.1.4');
  assert.is(exec.asked, 1);
});

Version('helm found on PATH is kept the same way, by the file PATH leads to', async () => {
  const bin = join(tmp, 'bin');
  mkdirSync(bin);
  program(join(bin, 'helm'), binary);
  const exec = new VersionExec();
  const env = { PATH: [join(tmp, 'empty'), bin].join(process.platform === 'win32' ? ';' : ':') };
  await helmVersion(new Helm(exec, 'helm'), { env, dir: kept });
  await helmVersion(new Helm(exec, 'helm'), { env, dir: kept });
  assert.is(exec.asked, 1);
});

Version('a helm replaced in place is asked again', async () => {
  const exec = new VersionExec('v3.17.3');
  const path = program(join(tmp, 'helm'), binary);
  await helmVersion(new Helm(exec, path), { dir: kept });
  program(path, `${binary}, upgraded`);
  exec.answer = 'v4.1.4';
  assert.is((await helmVersion(new Helm(exec, path), { dir: kept })).raw, 'v4.1.4');
  assert.is(exec.asked, 2);
});

Version('a script named helm, or a link to a program of another name (a shim), is asked every time', async () => {
  const exec = new VersionExec();
  const script = program(join(tmp, 'helm'), '#!/bin/sh\nexec real-helm "$@"\n');
  await helmVersion(new Helm(exec, script), { dir: kept });
  await helmVersion(new Helm(exec, script), { dir: kept });
  assert.is(exec.asked, 2);
  const shims = join(tmp, 'shims');
  mkdirSync(shims);
  symlinkSync(program(join(tmp, 'mise'), binary), join(shims, 'helm'));
  await helmVersion(new Helm(exec, join(shims, 'helm')), { dir: kept });
  await helmVersion(new Helm(exec, join(shims, 'helm')), { dir: kept });
  assert.is(exec.asked, 4);
});

Version('a helm that is not found is asked, so the error is the one helm version gives', async () => {
  const missing = join(tmp, 'no-such', 'helm');
  // The real process seam: spawning a missing program is a PrerequisiteError naming TASKFLOW_HELM.
  await helmVersion(new Helm(new Exec(), missing), { dir: kept }).then(
    () => assert.unreachable('a missing helm gave a version'),
    (err: Error) => {
      assert.instance(err, PrerequisiteError);
      assert.match(err.message, /helm was not found at .*no-such.*TASKFLOW_HELM/);
    },
  );
});

Version.run();
