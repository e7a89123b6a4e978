// Every build context's own .dockerignore keeps secrets out, for anyone who builds that folder with
// a Dockerfile of their own (the toolkit's builds use docker/<name>.Dockerfile.dockerignore).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { compileDockerignore, isIgnored } from '../../scripts/lib/images/ignore.ts';
import { root } from '../lib/chart.ts';

const Ignore = suite('build contexts keep secrets out');
const SECRETS = ['.env', '.env.local', 'config/.env', 'sub/dir/.env.production', 'tls.key', 'cert.pem'];

for (const dir of ['app/frontend', 'tests/fixtures/notes-app/web', 'tests/fixtures/notes-app/worker']) {
  Ignore(`${dir}/.dockerignore excludes every env file and key`, () => {
    const file = join(root, dir, '.dockerignore');
    assert.ok(existsSync(file), `${dir} has no .dockerignore`);
    const rules = compileDockerignore(readFileSync(file, 'utf8'));
    const kept = SECRETS.filter((p) => !isIgnored(rules, p));
    assert.equal(kept, [], `${dir} lets in: ${kept.join(', ')}`);
  });
}

Ignore.run();
