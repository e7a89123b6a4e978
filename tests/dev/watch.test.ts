// The context watcher on a scratch build context: each way of watching reports an edit with its
// path and whether the build's .dockerignore excludes it, follows folders created later, and
// sees the Dockerfile and ignore file beside it outside the context.
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { waitFor } from '../../scripts/lib/core/wait.ts';
import { ContextWatcher, type Edit, type WatcherOptions } from '../../scripts/lib/dev/watch.ts';

const Watch = suite('context watcher');
const dirs: string[] = [];

Watch.after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A context `app/` with src/ and an ignored cache/, and `docker/app.Dockerfile` with its ignore file outside it. */
function scratch() {
  const dir = mkdtempSync(join(tmpdir(), 'taskflow-watch-'));
  dirs.push(dir);
  const contextDir = join(dir, 'app');
  mkdirSync(join(contextDir, 'src'), { recursive: true });
  mkdirSync(join(contextDir, 'cache'), { recursive: true });
  mkdirSync(join(dir, 'docker'));
  writeFileSync(join(contextDir, 'src', 'main.py'), 'print(1)\n');
  const dockerfile = join(dir, 'docker', 'app.Dockerfile');
  writeFileSync(dockerfile, 'FROM scratch\nCOPY . .\n');
  writeFileSync(`${dockerfile}.dockerignore`, 'cache\n**/*.log\n');
  // An ignore file in the context that Docker does not read (the one beside the Dockerfile wins).
  writeFileSync(join(contextDir, '.dockerignore'), 'src\n');
  return { contextDir, dockerfile, src: { component: 'app', contextDir, dockerfile, buildArgs: {} } };
}

function watcher(opts: Omit<WatcherOptions, 'onEdit'>): { edits: Edit[]; w: ContextWatcher; until(test: (e: Edit) => boolean, what: string): Promise<Edit> } {
  const edits: Edit[] = [];
  const w = new ContextWatcher({ ...opts, onEdit: (e) => edits.push(e) });
  return {
    edits,
    w,
    until: (test, what) => waitFor(() => edits.find(test), { timeout: 5000, interval: 20, describe: what, onTimeout: () => new Error(`no ${what}; seen: ${JSON.stringify(edits)}`) }),
  };
}

for (const platform of ['linux', 'darwin'] as const) {
  const how = platform === 'linux' ? 'per directory' : 'recursively';
  Watch(`watching ${how}: an edit is reported with its path, an ignored one as ignored, by the ignore file beside the Dockerfile`, async () => {
    const { contextDir, src } = scratch();
    const { w, until } = watcher({ sources: [src], platform });
    assert.is(w.start(), platform === 'linux' ? 'per-directory' : 'native');
    try {
      appendFileSync(join(contextDir, 'src', 'debug.log'), 'x');
      const ignored = await until((e) => e.path === 'src/debug.log', 'the ignored edit');
      assert.is(ignored.ignored, true);
      appendFileSync(join(contextDir, 'src', 'main.py'), '# edit\n');
      const kept = await until((e) => e.path === 'src/main.py', 'the edit');
      assert.equal({ component: kept.component, ignored: kept.ignored }, { component: 'app', ignored: false });
    } finally {
      w.close();
    }
  });

  Watch(`watching ${how}: a folder created after the start is watched too`, async () => {
    const { contextDir, src } = scratch();
    const { w, edits, until } = watcher({ sources: [src], platform });
    w.start();
    try {
      mkdirSync(join(contextDir, 'src', 'new', 'deeper'), { recursive: true });
      await until((e) => e.path === 'src/new', 'the new folder');
      // Edited until seen: the recursive watcher may add the new folders' watches a moment later.
      const file = join(contextDir, 'src', 'new', 'deeper', 'mod.py');
      const e = await waitFor(
        () => {
          appendFileSync(file, 'x = 1\n');
          return edits.find((x) => x.path === 'src/new/deeper/mod.py');
        },
        { timeout: 5000, interval: 50, describe: 'the edit in the new folder' },
      );
      assert.is(e.ignored, false);
    } finally {
      w.close();
    }
  });

  Watch(`watching ${how}: the Dockerfile and its ignore file count even outside the context`, async () => {
    const { dockerfile, src } = scratch();
    const { w, until } = watcher({ sources: [src], platform });
    w.start();
    try {
      appendFileSync(dockerfile, 'RUN true\n');
      assert.is((await until((e) => e.path === 'app.Dockerfile', 'the Dockerfile edit')).ignored, false);
      // The ignore file itself counts: it changes what the context holds.
      writeFileSync(`${dockerfile}.dockerignore`, 'cache\n');
      await until((e) => e.path === 'app.Dockerfile.dockerignore', 'the ignore file edit');
    } finally {
      w.close();
    }
  });
}

Watch('per directory, an ignored folder is not watched at all', async () => {
  const { contextDir, src } = scratch();
  const { w, edits, until } = watcher({ sources: [src], platform: 'linux' });
  w.start();
  try {
    writeFileSync(join(contextDir, 'cache', 'blob'), 'x');
    // A marker edit after it: events arrive in order, so the cache edit would be seen by now.
    appendFileSync(join(contextDir, 'src', 'main.py'), '# marker\n');
    await until((e) => e.path === 'src/main.py', 'the marker edit');
    assert.equal(edits.filter((e) => e.path.startsWith('cache')), []);
  } finally {
    w.close();
  }
});

Watch('polling reports a component once its content tag moves', async () => {
  const { contextDir, src } = scratch();
  const { w, until } = watcher({ sources: [src], pollMs: 50 });
  assert.is(w.start(), 'polling');
  try {
    appendFileSync(join(contextDir, 'src', 'main.py'), '# edit\n');
    const e = await until(() => true, 'the polled edit');
    assert.equal({ component: e.component, path: e.path, ignored: e.ignored }, { component: 'app', path: '(content tag changed)', ignored: false });
  } finally {
    w.close();
  }
});

Watch.run();
