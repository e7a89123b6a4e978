// The app that is not ours, built for real from its declaration (tests/fixtures/notes-app): the
// toolkit's own imageSources give each component's Dockerfile, stage and build args, the stand-in
// Python base stands for python:3.12-slim, and both containers run hardened as the chart runs them:
// the web service answers with its build-time public title and guards its notes with the token,
// and the worker, which has no port, reaches the web service with that token.
import { randomBytes } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadConfig } from '../../scripts/lib/app/config.ts';
import { imageSources } from '../../scripts/lib/images/tag.ts';
import { freePort } from '../../scripts/lib/core/net.ts';
import { HARDENED, buildImage, containerLogs, ensureBaseImages, ensureEngine, history, inspectImage, repoRoot, runContainer } from '../lib/docker.ts';
import { until } from '../lib/wait.ts';
import { imageSuite } from './harness.ts';

const TOKEN = randomBytes(24).toString('hex');
const TAGS = { web: 'taskflow-test/notes-web:test', worker: 'taskflow-test/notes-worker:test' };
const SOON = { timeoutMs: 30_000, intervalMs: 250 };
const suite = imageSuite('notes app suite');

test('the declaration builds both images, and they run hardened, talking to each other with the token', async () => {
  await ensureEngine();
  const bases = await ensureBaseImages();
  // The base image override is a per-component setting, as a user behind a mirror would set it.
  const config = loadConfig({
    root: repoRoot,
    env: { TASKFLOW_APP_FILE: 'tests/fixtures/notes-app/app.yaml', TASKFLOW_WEB_BASE_IMAGE: bases.python, TASKFLOW_WORKER_BASE_IMAGE: bases.python },
    envFile: '/nonexistent/notes.env',
  });
  const sources = imageSources(config);
  assert.equal(sources.map((s) => s.component), ['web', 'worker']);
  for (const src of sources) {
    await buildImage({ dockerfile: src.dockerfile, context: src.contextDir, tag: TAGS[src.component as keyof typeof TAGS], target: src.target, buildArgs: src.buildArgs, timeoutMs: 10 * 60_000 });
  }
  type Config = { Config: { User: string; Env: string[] | null } };
  for (const tag of Object.values(TAGS)) {
    const image = await inspectImage<Config>(tag);
    assert.is(image.Config.User, '10001', `${tag} runs as its declared user`);
    // A secret never reaches an image: not its env, not its history.
    assert.not.ok(JSON.stringify(image).includes('NOTES_API_TOKEN='), `${tag} records the token`);
    assert.not.ok((await history(tag)).some((h) => h.createdBy.includes('NOTES_API_TOKEN')));
  }

  const port = await freePort();
  suite.containers.push(await runContainer({ image: TAGS.web, env: { PORT: String(port), NOTES_API_TOKEN: TOKEN, NOTES_GREETING: 'hi' }, extraArgs: [...HARDENED, '--user', '10001'] }));
  const base = `http://127.0.0.1:${port}`;
  await until('the web service on /healthz', async () => (await fetch(`${base}/healthz`)).status === 200, SOON);
  assert.is((await fetch(`${base}/readyz`)).status, 200);
  const notes = await fetch(`${base}/notes`, { headers: { authorization: `Bearer ${TOKEN}` } });
  assert.is(notes.status, 200);
  // PUBLIC_TITLE, the declaration's build-time public variable, was baked in by the runtime stage's build.
  assert.equal(await notes.json(), { title: 'Team notes', greeting: 'hi', notes: [] });
  assert.is((await fetch(`${base}/notes`, { headers: { authorization: 'Bearer wrong' } })).status, 401);

  const worker = await runContainer({ image: TAGS.worker, env: { WEB_URL: base, NOTES_API_TOKEN: TOKEN, WORKER_INTERVAL_SECONDS: '0.5' }, extraArgs: [...HARDENED, '--user', '10001'] });
  suite.containers.push(worker);
  const line = await until('the worker reaching the web service', async () => (await containerLogs(worker)).split('\n').find((l) => l.includes('answered 200')), SOON);
  assert.match(line, /worker: http:\/\/127\.0\.0\.1:\d+\/notes answered 200/);
});

test.after(() => suite.cleanup());

test.run();
