// `make render > taskflow.yaml`, as the README shows it: make's stdout is the manifests and nothing
// else. make echoes a recipe line to stdout unless the recipe is silent, which would put
// "npm run --silent render --" at the top of the user's file.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseAllDocuments } from 'yaml';
import { root } from '../lib/chart.ts';
import { defaultHelm } from '../lib/tool-versions.ts';

const Make = suite('make render');

Make('make render prints only the manifests on stdout, so its output can be saved as a file', async () => {
  const helm = await defaultHelm();
  const dir = mkdtempSync(join(tmpdir(), 'make-render-'));
  try {
    const env: NodeJS.ProcessEnv = { ...process.env, TASKFLOW_HELM: helm, TASKFLOW_ENV_FILE: join(dir, 'none.env'), CI: 'true' };
    for (const k of Object.keys(env)) if (k.startsWith('TASKFLOW_') && !['TASKFLOW_HELM', 'TASKFLOW_ENV_FILE'].includes(k)) delete env[k];
    const r = spawnSync('make', ['--no-print-directory', 'render'], { cwd: root, env, encoding: 'utf8', timeout: 120_000 });
    assert.is(r.status, 0, r.stderr);
    assert.not.match(r.stdout, /npm run/, 'make echoed its recipe into the manifests');
    const docs = parseAllDocuments(r.stdout);
    const list = Array.isArray(docs) ? docs : [docs];
    assert.equal(list.flatMap((d) => d.errors.map((e) => e.message)), []);
    const kinds = list.map((d) => (d.toJS() as { kind?: string } | null)?.kind).filter(Boolean);
    assert.ok(kinds.includes('Deployment') && kinds.includes('Service'), kinds.join(', '));
    assert.ok(list.every((d) => d.toJS() === null || typeof (d.toJS() as { kind?: unknown }).kind === 'string'), 'a document without a kind');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Make.run();
