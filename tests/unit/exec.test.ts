// The process seam: real processes, dry-run for mutating commands, secrets masked everywhere.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { PrerequisiteError, UserError } from '../../scripts/lib/core/errors.ts';
import { Exec, formatCommand } from '../../scripts/lib/core/exec.ts';
import { mask, registerSecret } from '../../scripts/lib/core/secrets.ts';

const node = process.execPath;
const Seam = suite('exec');

Seam('runs a real process with its arguments passed verbatim, spaces and quotes included', async () => {
  const exec = new Exec({ log: () => {} });
  const r = await exec.run(node, ['-e', 'console.log(JSON.stringify(process.argv.slice(1)))', 'a b', `it's`, '$HOME']);
  assert.equal(JSON.parse(r.stdout), ['a b', `it's`, '$HOME']);
});

// Git Bash (MSYS) rewrites an argument that looks like a POSIX path, so `kubectl get --raw /readyz`
// run through it asks for `C:/Program Files/Git/readyz` (kubernetes/kubectl#594). With no shell in
// between, a `/`-leading argument must reach the program as written, from run and start alike.
Seam('an argument starting with / (/readyz, a probe path, //host/share) reaches the child verbatim, from run and start', async () => {
  const slashes = ['/readyz', '/health/live', '/', '//server/share', '/c/Users', '--path=/api'];
  const printArgv = ['-e', 'console.log(JSON.stringify(process.argv.slice(1)))', ...slashes];
  const exec = new Exec({ log: () => {} });
  const r = await exec.run(node, printArgv);
  assert.equal(JSON.parse(r.stdout), slashes);
  const lines: string[] = [];
  const child = exec.start(node, printArgv, { onLine: (line) => lines.push(line) });
  const end = await child.exited;
  assert.is(end.code, 0);
  assert.equal(JSON.parse(lines.join('')), slashes);
});

Seam('passes input on stdin', async () => {
  const r = await new Exec().run(node, ['-e', 'process.stdin.pipe(process.stdout)'], { input: 'from stdin' });
  assert.is(r.stdout, 'from stdin');
});

Seam('a failing command throws a UserError with the command and the end of its stderr; nothrow returns it', async () => {
  const exec = new Exec();
  const args = ['-e', 'console.error("boom: disk full"); process.exit(3)'];
  try {
    await exec.run(node, args);
    assert.unreachable('should have thrown');
  } catch (err) {
    assert.instance(err, UserError);
    assert.match((err as Error).message, /exit 3/);
    assert.match((err as Error).message, /boom: disk full/);
  }
  const r = await exec.run(node, args, { nothrow: true });
  assert.is(r.exitCode, 3);
});

Seam('a missing program is a missing prerequisite', async () => {
  try {
    await new Exec().run('taskflow-no-such-tool', ['--version']);
    assert.unreachable('should have thrown');
  } catch (err) {
    assert.instance(err, PrerequisiteError);
    assert.match((err as Error).message, /taskflow-no-such-tool was not found/);
  }
});

Seam('dry-run prints mutating commands instead of running them, but still runs reads', async () => {
  const lines: string[] = [];
  const exec = new Exec({ dryRun: true, log: (l) => lines.push(l) });
  const write = await exec.run(node, ['-e', 'process.exit(9)'], { mutating: true });
  assert.is(write.exitCode, 0);
  const read = await exec.run(node, ['-e', 'console.log("state")']);
  assert.is(read.stdout.trim(), 'state');
  assert.is(lines.length, 1);
  assert.match(lines[0] ?? '', /^\[dry-run\] would run: .*process\.exit\(9\)/);
  assert.equal(exec.history.map((h) => h.dryRun), [true, false]);
});

Seam('a dry run shows the stdin it was given to show (masked again), never the input itself', async () => {
  registerSecret('stdin-secret-4567');
  const lines: string[] = [];
  const exec = new Exec({ dryRun: true, log: (l) => lines.push(l) });
  await exec.run(node, ['-e', '0'], { mutating: true, input: 'password: real-password-890\n', shownInput: 'password: "********"\ntoken: stdin-secret-4567\n' });
  await exec.run(node, ['-e', '0'], { mutating: true, input: 'password: real-password-890\n' });
  assert.equal(lines[0]?.split('\n').slice(1), ['  on stdin (secrets masked):', '    password: "********"', '    token: ***']);
  assert.is(lines[1]?.split('\n').length, 1, 'no shownInput: nothing of the input is shown');
  assert.not.ok(lines.join('\n').includes('real-password-890'));
});

Seam('registered secrets are masked in printed commands, history and errors', async () => {
  registerSecret('s3cr3t-value-123');
  assert.is(mask('pw=s3cr3t-value-123;'), 'pw=***;');
  assert.is(formatCommand('helm', ['--set', 'x=s3cr3t-value-123']), 'helm --set x=***');
  const lines: string[] = [];
  const exec = new Exec({ verbose: true, log: (l) => lines.push(l) });
  try {
    await exec.run(node, ['-e', 'console.error(process.argv[1]); process.exit(1)', 's3cr3t-value-123']);
    assert.unreachable('should have thrown');
  } catch (err) {
    // The instance check keeps the catch from swallowing unreachable's own assertion error.
    assert.instance(err, UserError);
    assert.match((err as Error).message, /\*\*\*/);
    assert.not.ok((err as Error).message.includes('s3cr3t-value-123'));
  }
  assert.not.ok(lines.join('\n').includes('s3cr3t-value-123'));
  assert.not.ok(JSON.stringify(exec.history).includes('s3cr3t-value-123'));
});

Seam.run();
