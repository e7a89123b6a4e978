// The whole app on this machine: PostgreSQL, the FastAPI backend and the built frontend, driven in a real browser.
import { statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { freePort } from '../../scripts/lib/core/net.ts';
import { ensureBackendVenv, startBackend } from '../lib/backend.ts';
import { runBrowserFlow } from '../lib/browser-flow.ts';
import { ensureFrontendBuild, startFrontend } from '../lib/frontend.ts';
import { startPostgres } from '../lib/postgres.ts';
import { stopAll } from '../lib/server.ts';

const screenshot = fileURLToPath(new URL('../../test-artifacts/browser-local.png', import.meta.url));


const browser = suite('frontend against the real backend');

browser('a new user signs up, completes a task, adds one through the chatbot and logs out in Chromium', async () => {
  const stops: Array<() => Promise<void>> = [];
  // The backend's log is shown only when something fails, so a passing run stays readable.
  const backendLog: string[] = [];
  try {
    // Build and install before starting anything, so no server idles through a long build.
    await ensureFrontendBuild();
    await ensureBackendVenv();
    const pg = await startPostgres();
    stops.push(() => pg.stop());
    const backend = await startBackend({ databaseUrl: pg.url, onLog: (line) => backendLog.push(line) });
    stops.push(() => backend.stop());
    const frontend = await startFrontend({ backendUrl: backend.url });
    stops.push(() => frontend.stop());

    // Through the proxy, the real backend's own answer arrives unchanged.
    const anonymous = await fetch(`${frontend.url}/api/v1/tasks`);
    assert.is(anonymous.status, 401);
    const body = (await anonymous.json()) as { detail?: unknown };
    assert.is(typeof body.detail, 'string');

    await runBrowserFlow(frontend.url, screenshot);
    assert.ok(statSync(screenshot).size > 10_000, `screenshot ${screenshot} is suspiciously small`);
  } catch (err) {
    process.stderr.write(`backend log (last 60 lines):\n${backendLog.slice(-60).join('\n')}\n`);
    throw err;
  } finally {
    await stopAll(stops);
  }
});

browser('the proxy answers 502 with a JSON detail when BACKEND_URL points at a closed port', async () => {
  const closed = await freePort();
  const frontend = await startFrontend({ backendUrl: `http://127.0.0.1:${closed}` });
  try {
    for (const method of ['GET', 'POST']) {
      const res = await fetch(`${frontend.url}/api/v1/tasks`, {
        method,
        headers: { authorization: 'Bearer nobody', 'content-type': 'application/json' },
        body: method === 'POST' ? JSON.stringify({ title: 'lost' }) : undefined,
      });
      assert.is(res.status, 502, `${method} status`);
      assert.match(res.headers.get('content-type') ?? '', /application\/json/);
      assert.equal(await res.json(), { detail: 'backend unreachable' });
    }
  } finally {
    await frontend.stop();
  }
});

browser('/api/health answers 200 while the backend is down', async () => {
  const closed = await freePort();
  const frontend = await startFrontend({ backendUrl: `http://127.0.0.1:${closed}` });
  try {
    const res = await fetch(`${frontend.url}/api/health`);
    assert.is(res.status, 200);
    assert.equal(await res.json(), { status: 'ok' });
    const page = await fetch(`${frontend.url}/login`);
    assert.is(page.status, 200, 'the login page still renders');
  } finally {
    await frontend.stop();
  }
});

browser.run();
