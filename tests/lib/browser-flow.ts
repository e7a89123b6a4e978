// Drives the TaskFlow UI in headless Chromium as a person would: sign up, add and complete a task, chat, log out.
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { type Browser, chromium, type Locator, type Page } from 'playwright-core';
import { GiveUp, until } from './wait.ts';

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-quic',
  '--disable-sync',
];
export const STEP_TIMEOUT_MS = 20_000;
// A chat turn goes browser → frontend → backend (and maybe a model) and back, then the list reloads.
export const CHAT_TIMEOUT_MS = 60_000;

/** Thrown from a check when the page shows something that waiting cannot fix (an error message). */
export class Shown extends GiveUp {}

/**
 * Waits (through the tests' `until`) until the page shows what is expected: `check` answers true,
 * or else what it sees instead, which a timeout reports as the last state seen.
 */
export async function expectSoon(what: string, check: () => Promise<boolean | string>, timeoutMs = STEP_TIMEOUT_MS): Promise<void> {
  await until(
    what,
    async (seen) => {
      const answer = await check();
      if (typeof answer === 'string') seen(answer);
      return answer === true;
    },
    { timeoutMs, intervalMs: 150 },
  );
}

export async function visible(locator: Locator, what: string, timeout = STEP_TIMEOUT_MS): Promise<void> {
  try {
    await locator.first().waitFor({ state: 'visible', timeout });
  } catch {
    throw new Error(`expected to see ${what}`);
  }
}

export async function textIs(locator: Locator, expected: string, what: string): Promise<void> {
  await expectSoon(`${what} to read "${expected}"`, async () => {
    const text = ((await locator.textContent()) ?? '').replace(/\s+/g, ' ').trim();
    return text === expected || text;
  });
}

export function taskItem(page: Page, title: string | RegExp): Locator {
  return page.getByTestId('task-item').filter({ has: page.getByTestId('task-title').filter({ hasText: title }) });
}

export async function runBrowserFlow(baseUrl: string, screenshotPath: string): Promise<void> {
  if (!existsSync(CHROMIUM)) throw new Error('chromium not found: apt-get install chromium');
  const base = baseUrl.replace(/\/+$/, '');
  const problems: string[] = [];
  let browser: Browser | undefined;
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    const context = await browser.newContext({ viewport: { width: 1280, height: 820 } });
    const page = await context.newPage();
    page.setDefaultTimeout(STEP_TIMEOUT_MS);
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error') problems.push(`console: ${msg.text()}`);
    });
    page.on('response', (res) => {
      if (res.url().includes('/api/') && res.status() >= 500) problems.push(`${res.status()} from ${res.url()}`);
    });

    const step = async (name: string, body: () => Promise<void>): Promise<void> => {
      try {
        await body();
      } catch (err) {
        const banner = page.getByTestId('app-error');
        if (await banner.isVisible().catch(() => false)) problems.push(`error banner: ${await banner.textContent()}`);
        const seen = problems.length ? `\n  browser reported:\n  - ${problems.slice(-10).join('\n  - ')}` : '';
        const why = err instanceof Error ? err.message : String(err);
        throw new Error(`browser flow failed at "${name}" on ${page.url()}: ${why}${seen}`, { cause: err });
      }
    };

    const stamp = `${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
    const name = 'Ada Flow';
    const email = `ada.flow.${stamp}@example.com`;
    const password = `correct-horse-${stamp}`;
    const firstTask = 'Write the release notes';

    await step('a visitor without a session is sent to the login form', async () => {
      await page.goto(`${base}/`);
      await visible(page.getByTestId('login-form'), 'the login form');
      await expectSoon('the address to be /login', async () => new URL(page.url()).pathname === '/login' || page.url());
    });

    await step('the sign-up form opens from the login page', async () => {
      await page.getByTestId('goto-signup').click();
      await visible(page.getByTestId('signup-form'), 'the sign-up form');
    });

    await step('signing up lands on an empty task list greeting the new user', async () => {
      await page.getByTestId('signup-name').fill(name);
      await page.getByTestId('signup-email').fill(email);
      await page.getByTestId('signup-password').fill(password);
      await page.getByTestId('signup-submit').click();
      const failed = page.getByTestId('signup-error');
      await expectSoon('the dashboard after signing up', async () => {
        if (await failed.isVisible()) throw new Shown(`sign-up error shown: ${await failed.textContent()}`);
        return (await page.getByTestId('user-name').isVisible()) || 'still on the sign-up form';
      });
      await textIs(page.getByTestId('user-name'), name, 'the user name in the header');
      await visible(page.getByTestId('task-empty'), 'the empty task list message');
      await textIs(page.getByTestId('task-summary'), '0 open · 0 done', 'the task summary');
    });

    await step('adding a task shows it in the list, open', async () => {
      await page.getByTestId('task-title-input').fill(firstTask);
      await page.getByTestId('task-description-input').fill('Cover the new chat commands');
      await page.getByTestId('add-task-button').click();
      const item = taskItem(page, firstTask);
      await visible(item, `the task "${firstTask}"`);
      await visible(item.getByTestId('task-description').filter({ hasText: 'Cover the new chat commands' }), 'its description');
      await expectSoon('the new task to be open', async () => (await item.getAttribute('data-completed')) === 'false');
      await textIs(page.getByTestId('task-summary'), '1 open · 0 done', 'the task summary');
      await expectSoon('the title box to be cleared', async () => (await page.getByTestId('task-title-input').inputValue()) === '');
    });

    await step('ticking the task marks it done', async () => {
      const item = taskItem(page, firstTask);
      await item.getByTestId('task-toggle').click();
      await expectSoon('the task to be marked completed', async () => (await item.getAttribute('data-completed')) === 'true');
      await expectSoon('its checkbox to be ticked', () => item.getByTestId('task-toggle').isChecked());
      await textIs(page.getByTestId('task-summary'), '0 open · 1 done', 'the task summary');
    });

    await step('asking the chatbot to add a task puts it in the list', async () => {
      await page.getByTestId('chat-input').fill('add task buy milk');
      await page.getByTestId('chat-send').click();
      const said = (role: string) => page.locator(`[data-testid="chat-message"][data-role="${role}"]`);
      await visible(said('user').filter({ hasText: 'add task buy milk' }), 'my chat message');
      await expectSoon(
        'an answer from the assistant',
        async () => {
          const error = said('error');
          if (await error.count()) throw new Shown(`chat error shown: ${await error.last().textContent()}`);
          const reply = said('assistant');
          return (await reply.count()) > 0 && ((await reply.last().textContent()) ?? '').trim().length > 0;
        },
        CHAT_TIMEOUT_MS,
      );
      const milk = taskItem(page, /buy milk/i);
      await visible(milk, 'the task "buy milk" in the list', CHAT_TIMEOUT_MS);
      await expectSoon('"buy milk" to be open', async () => (await milk.getAttribute('data-completed')) === 'false');
      await textIs(page.getByTestId('task-summary'), '1 open · 1 done', 'the task summary');
    });

    await step('a screenshot of the working page is saved', async () => {
      mkdirSync(dirname(screenshotPath), { recursive: true });
      await page.screenshot({ path: screenshotPath, fullPage: true });
      if (!existsSync(screenshotPath)) throw new Error(`no screenshot at ${screenshotPath}`);
    });

    await step('editing a task renames it in place', async () => {
      const renamed = 'Write and publish the release notes';
      const item = taskItem(page, firstTask);
      await item.getByTestId('task-edit').click();
      const titleBox = page.getByTestId('task-edit-title');
      await visible(titleBox, 'the edit form');
      await titleBox.fill(renamed);
      await page.getByTestId('task-save').click();
      const updated = taskItem(page, renamed);
      await visible(updated, `the task renamed to "${renamed}"`);
      await expectSoon('the renamed task to stay completed', async () => (await updated.getAttribute('data-completed')) === 'true');
      await expectSoon('the edit form to close', async () => (await page.getByTestId('task-edit-title').count()) === 0);
    });

    await step('deleting a task removes it from the list', async () => {
      const milk = taskItem(page, /buy milk/i);
      await milk.getByTestId('task-delete').click();
      await expectSoon('"buy milk" to be gone', async () => (await milk.count()) === 0);
      await textIs(page.getByTestId('task-summary'), '0 open · 1 done', 'the task summary');
    });

    await step('logging out shows the login form and forgets the session', async () => {
      await page.getByTestId('logout-button').click();
      await visible(page.getByTestId('login-form'), 'the login form');
      await expectSoon('the address to be /login', async () => new URL(page.url()).pathname === '/login' || page.url());
      const token = await page.evaluate(() => window.localStorage.getItem('taskflow.access_token'));
      if (token !== null) throw new Error('the access token is still stored after logging out');
      await page.goto(`${base}/`);
      await visible(page.getByTestId('login-form'), 'the login form again when opening the task list');
    });

    await context.close();
  } finally {
    await browser?.close();
  }
}
