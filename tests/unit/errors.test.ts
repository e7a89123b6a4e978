// No plain Error reaches a user: every failure the toolkit knows is a typed error (UserError,
// InputError, PrerequisiteError, InterruptedError) carrying its exit code and, where there is one,
// the fix. An unexpected Error still prints its stack (a bug), so new code must not throw one.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { root } from '../lib/chart.ts';

const Errors = suite('typed errors');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : name.endsWith('.ts') ? [path] : [];
  });
}

Errors('nothing under scripts/ throws or rejects with a plain new Error(', () => {
  const found = files(join(root, 'scripts')).flatMap((file) =>
    readFileSync(file, 'utf8')
      .split('\n')
      .flatMap((line, i) => (/\bnew Error\(/.test(line) ? [`${relative(root, file)}:${i + 1}: ${line.trim()}`] : [])),
  );
  assert.equal(found, [], `use UserError / InputError / PrerequisiteError with a hint:\n${found.join('\n')}`);
});

Errors.run();
