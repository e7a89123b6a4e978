// The chat panel against the real assistant, in Chromium: PostgreSQL, the real MCP server, a scripted
// OpenAI-compatible model (tests/lib/fake-model.ts), the backend wired to both, and the built frontend.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { freePort } from '../../scripts/lib/core/net.ts';
import { ensureBackendVenv, startBackend } from '../lib/backend.ts';
import { CHAT_TIMEOUT_MS, CHROMIUM, CHROMIUM_ARGS, expectSoon, Shown, STEP_TIMEOUT_MS, taskItem, visible } from '../lib/browser-flow.ts';
import { call, failure, type FakeModel, startFakeModel, text, tools } from '../lib/fake-model.ts';
import { ensureFrontendBuild, startFrontend } from '../lib/frontend.ts';
import { startMcp } from '../lib/mcp.ts';
import { type Postgres, startPostgres } from '../lib/postgres.ts';
import { stopAll } from '../lib/server.ts';

const artifact = (name: string) => fileURLToPath(new URL(`../../test-artifacts/${name}`, import.meta.url));

/** Saves a full-page screenshot under test-artifacts/ and prints where, so a run can be looked at afterwards. */
async function saveScreenshot(page: Page, name: string): Promise<void> {
  const path = artifact(name);
  mkdirSync(dirname(path), { recursive: true });
  await page.screenshot({ path, fullPage: true });
  assert.ok(statSync(path).size > 10_000, `screenshot ${path} is suspiciously small`);
  process.stdout.write(`screenshot: ${path}\n`);
}
const API_KEY = 'sk-test-browser-assistant';


/** Opens a page in headless Chromium, runs `body`, and adds what the browser complained about to a failure. */
async function inBrowser(body: (page: Page) => Promise<void>): Promise<void> {
  if (!existsSync(CHROMIUM)) throw new Error('chromium not found: apt-get install chromium');
  const problems: string[] = [];
  let browser: Browser | undefined;
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    const page = await browser.newPage({ viewport: { width: 1280, height: 820 } });
    page.setDefaultTimeout(STEP_TIMEOUT_MS);
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error') problems.push(`console: ${msg.text()}`);
    });
    try {
      await body(page);
    } catch (err) {
      const seen = problems.length ? `\n  browser reported:\n  - ${problems.slice(-10).join('\n  - ')}` : '';
      throw new Error(`${err instanceof Error ? err.message : String(err)} (on ${page.url()})${seen}`, { cause: err });
    }
  } finally {
    await browser?.close();
  }
}

async function signUp(page: Page, base: string, name: string): Promise<void> {
  const stamp = `${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
  await page.goto(`${base}/signup`);
  await page.getByTestId('signup-name').fill(name);
  await page.getByTestId('signup-email').fill(`${name.toLowerCase().replace(/\W+/g, '.')}.${stamp}@example.com`);
  await page.getByTestId('signup-password').fill(`correct-horse-${stamp}`);
  await page.getByTestId('signup-submit').click();
  await visible(page.getByTestId('task-empty'), 'the empty task list after signing up');
}

const said = (page: Page, role: 'user' | 'assistant' | 'error') => page.locator(`[data-testid="chat-message"][data-role="${role}"]`);

async function sendChat(page: Page, message: string): Promise<void> {
  await page.getByTestId('chat-input').fill(message);
  await page.getByTestId('chat-send').click();
  await visible(said(page, 'user').filter({ hasText: message }), `my message "${message}"`);
}

/** Waits until the panel is no longer busy with an answer; an error bubble fails at once unless one is expected. */
async function answered(page: Page, { errorExpected = false } = {}): Promise<void> {
  await expectSoon(
    'the assistant to finish answering',
    async () => {
      if (!errorExpected && (await said(page, 'error').count())) throw new Shown(`chat error shown: ${await said(page, 'error').last().textContent()}`);
      return (await page.getByTestId('chat-messages').getAttribute('aria-busy')) === 'false' || 'still answering';
    },
    CHAT_TIMEOUT_MS,
  );
}

const conversationInUrl = (page: Page): string | null => new URL(page.url()).searchParams.get('c');

const assistant = suite('the chat panel with the real assistant');
let pg: Postgres | undefined;

assistant.before(async () => {
  // Build and install before starting anything, so no server idles through a long build.
  await ensureFrontendBuild();
  await ensureBackendVenv();
  pg = await startPostgres();
});

assistant.after(async () => {
  await pg?.stop();
});

assistant('"add buy milk" runs add_task through the MCP server; the tool call, the task and, after a reload, the conversation show', async () => {
  const stops: Array<() => Promise<void>> = [];
  const backendLog: string[] = [];
  let model: FakeModel | undefined;
  try {
    model = await startFakeModel();
    stops.push(() => model!.stop());
    // The MCP server is ready only once the backend has created the tables, so the backend starts first and is
    // told the MCP server's address ahead.
    const mcpPort = await freePort();
    const mcpSecret = randomBytes(36).toString('base64url');
    const backend = await startBackend({
      databaseUrl: pg!.url,
      onLog: (line) => backendLog.push(line),
      env: {
        OPENAI_BASE_URL: model.url,
        OPENAI_API_KEY: API_KEY,
        MODEL_NAME: 'fake-model',
        MCP_URL: `http://127.0.0.1:${mcpPort}/mcp`,
        MCP_SHARED_SECRET: mcpSecret,
        CHAT_TIMEOUT_SECONDS: '30',
      },
    });
    stops.push(() => backend.stop());
    const mcp = await startMcp(pg!.url, { secret: mcpSecret, port: mcpPort });
    stops.push(() => mcp.stop());
    const frontend = await startFrontend({ backendUrl: backend.url });
    stops.push(() => frontend.stop());
    const fake = model;

    await inBrowser(async (page) => {
      await signUp(page, frontend.url, 'Milk Buyer');

      fake.play(
        // A model that decides to use a tool: it answers with a tool call, its JSON arguments streamed in pieces.
        tools(call('add_task', { title: 'buy milk' })),
        // The same model once the tool's result is back: a short final answer in words.
        text('Added "buy milk" to your tasks.'),
      );
      await sendChat(page, 'add buy milk');
      const tool = page.locator('[data-testid="chat-tool"][data-tool="add_task"]');
      await visible(tool, 'the add_task tool call', CHAT_TIMEOUT_MS);
      await expectSoon('the tool call to succeed and name the task', async () => {
        const state = await tool.getAttribute('data-state');
        const shown = ((await tool.textContent()) ?? '').trim();
        return (state === 'ok' && /buy milk/.test(shown)) || `${state}: ${shown}`;
      }, CHAT_TIMEOUT_MS);
      await answered(page);
      await visible(said(page, 'assistant').filter({ hasText: 'Added "buy milk" to your tasks.' }), "the model's answer");
      // Refreshed on tasks_changed: nothing but the assistant added this task.
      await visible(taskItem(page, 'buy milk'), 'the task "buy milk" in the list');
      assert.is(await page.getByTestId('chat-offline-notice').count(), 0, 'no offline notice with a model configured');
      await saveScreenshot(page, 'browser-assistant.png');
      const id = conversationInUrl(page);
      assert.ok(id && /^\d+$/.test(id), `the conversation id is in the address: ${page.url()}`);

      // What the model was sent: the MCP server's tools, then the tool's result in the second round.
      assert.equal(fake.unexpected, []);
      assert.is(fake.requests.length, 2);
      const first = fake.requests[0]!;
      assert.is(first.headers.authorization, `Bearer ${API_KEY}`);
      assert.ok(first.body.tools?.some((t) => t.function?.name === 'add_task'), 'add_task offered to the model');
      assert.ok(first.body.messages?.some((m) => m.role === 'user' && m.content === 'add buy milk'));
      assert.ok(fake.requests[1]!.body.messages?.some((m) => m.role === 'tool' && /buy milk/.test(String(m.content))));

      await page.reload();
      await visible(said(page, 'user').filter({ hasText: 'add buy milk' }), 'my message after the reload');
      await visible(said(page, 'assistant').filter({ hasText: 'Added "buy milk" to your tasks.' }), 'the answer after the reload');
      await visible(page.getByTestId('chat-action').filter({ hasText: /add_task #\d+ "buy milk"/ }), 'the stored action');
      assert.is(conversationInUrl(page), id, 'the same conversation is open');
      await visible(taskItem(page, 'buy milk'), 'the task after the reload');

      await saveScreenshot(page, 'browser-assistant-reloaded.png');

      // The provider fails: its own reason reaches the user, with no stand-in answer.
      fake.play(failure(503, 'The engine is currently overloaded, please try again later', 'server_error'));
      await sendChat(page, 'list my tasks');
      const error = said(page, 'error');
      await visible(error, 'the error', CHAT_TIMEOUT_MS);
      await expectSoon('the error to quote the provider', async () => {
        const shown = ((await error.last().textContent()) ?? '').trim();
        return /The model provider failed \(503\): The engine is currently overloaded/.test(shown) || shown;
      });
      assert.is(await error.last().getAttribute('data-code'), 'provider_error');
      assert.is(await said(page, 'assistant').count(), 1, 'no answer stands in for the failed one');
      assert.is(fake.requests.length, 1, 'no automatic retry');

      // A new conversation starts empty; the old one opens again from the list.
      await page.getByTestId('chat-new').click();
      await expectSoon('an empty new conversation', async () => (await said(page, 'user').count()) === 0 && conversationInUrl(page) === null);
      await visible(page.getByTestId('chat-hint'), 'the examples of a new conversation');
      await page.getByTestId('conversation-select').selectOption(id!);
      await visible(said(page, 'user').filter({ hasText: 'list my tasks' }), 'the reopened conversation');
      await expectSoon('both turns of the reopened conversation', async () => (await said(page, 'user').count()) === 2 || String(await said(page, 'user').count()));
      assert.is(conversationInUrl(page), id);
    });
  } catch (err) {
    process.stderr.write(`backend log (last 60 lines):\n${backendLog.slice(-60).join('\n')}\n`);
    if (model?.unexpected.length) process.stderr.write(`fake model, unexpected: ${model.unexpected.join('; ')}\n`);
    throw err;
  } finally {
    await stopAll(stops);
  }
});

assistant('with no model provider configured the panel says it is the offline, rule-based assistant', async () => {
  const stops: Array<() => Promise<void>> = [];
  const backendLog: string[] = [];
  try {
    const backend = await startBackend({ databaseUrl: pg!.url, onLog: (line) => backendLog.push(line) });
    stops.push(() => backend.stop());
    const frontend = await startFrontend({ backendUrl: backend.url });
    stops.push(() => frontend.stop());

    await inBrowser(async (page) => {
      await signUp(page, frontend.url, 'Offline Olga');
      assert.is(await page.getByTestId('chat-offline-notice').count(), 0, 'nothing is claimed before the backend says so');
      await sendChat(page, 'add task buy bread');
      const notice = page.getByTestId('chat-offline-notice');
      await visible(notice, 'the offline notice', CHAT_TIMEOUT_MS);
      assert.match((await notice.textContent()) ?? '', /Offline assistant\..*rule-based/);
      await answered(page);
      await visible(said(page, 'assistant').filter({ hasText: 'Offline assistant' }), 'the answer marked as offline');
      await visible(taskItem(page, /buy bread/), 'the task the offline assistant added');
      await saveScreenshot(page, 'browser-assistant-offline.png');
    });
  } catch (err) {
    process.stderr.write(`backend log (last 60 lines):\n${backendLog.slice(-60).join('\n')}\n`);
    throw err;
  } finally {
    await stopAll(stops);
  }
});

assistant.run();
