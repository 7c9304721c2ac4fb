// The console in a real browser: Debian's chromium driven by playwright-core against a GES API app
// listening on an ephemeral port, over a test schema of the real PostgreSQL. Each test takes the
// path a supervisor takes; the clock of sessions is moved instead of waiting twenty minutes.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { createTestDb, createTestTenant, inMinutes, type TestDb, type TestTenant } from './support/test-env.ts';
import { buildConsoleApp, PASSWORD, type ConsoleApp } from './support/console-env.ts';
import { applyTenantConfig } from '../src/app/tenant-config.ts';
import { listCapacityRules } from '../src/store/calendar-store.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const IDLE_MS = 5 * 60_000;

let db: TestDb;
let c: ConsoleApp;
let acme: TestTenant;
let base: string;
let browser: Browser;
const contexts: BrowserContext[] = [];

before(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`the browser tests need chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`);
  db = await createTestDb();
  c = await buildConsoleApp(db, { idleMs: IDLE_MS });
  acme = await createTestTenant(db, 'acme', { sales: { inQueueChecking: 'false', requestsPerNumberPer24h: 0 } });
  await applyTenantConfig(db.pool, {
    tenant: 'acme',
    capacityRules: [{ name: 'day-shift', slotMinutes: 30, defaultCapacity: 2, weekly: { mon: [{ from: '09:00', to: '12:00', capacity: 6 }] } }],
  });
  const tenant = { id: acme.id, name: acme.name };
  await c.users.create(tenant, 'admin', 'ADMINISTRATOR', PASSWORD);
  await c.users.create(tenant, 'watcher', 'MONITOR', PASSWORD);
  base = await c.app.listen({ port: 0, host: '127.0.0.1' });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});

after(async () => {
  for (const ctx of contexts) await ctx.close().catch(() => undefined);
  await browser?.close();
  await c?.app.close();
  await db?.close();
});

async function newPage(): Promise<Page> {
  const ctx = await browser.newContext({ viewport: { width: 1366, height: 800 } });
  contexts.push(ctx);
  return ctx.newPage();
}

async function signIn(page: Page, login: string): Promise<void> {
  await page.goto(`${base}/ges/login`);
  await page.getByLabel('Tenant').fill('acme');
  await page.getByLabel('Login').fill(login);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${base}/ges/callbacks`);
}

/** Submits a hand-made form from the page, as a script or a tampered page would, and returns the answer's status. */
async function postDirectly(page: Page, action: string, fields: Record<string, string>): Promise<number> {
  const response = page.waitForResponse((r) => r.url() === `${base}${action}` && r.request().method() === 'POST');
  await page.evaluate(
    ({ action, fields }) => {
      // Runs in the page; typed by hand because the project compiles without the DOM library.
      type El = { method: string; action: string; type: string; name: string; value: string; append(e: El): void; submit(): void };
      const document = (globalThis as unknown as { document: { createElement(tag: string): El; body: El } }).document;
      const form = document.createElement('form');
      form.method = 'post';
      form.action = action;
      for (const [name, value] of Object.entries(fields)) {
        const input = document.createElement('input');
        input.type = 'hidden';
        input.name = name;
        input.value = value;
        form.append(input);
      }
      document.body.append(form);
      form.submit();
    },
    { action, fields },
  );
  const status = (await response).status();
  await page.waitForLoadState();
  return status;
}

/** The CSRF token of the page's session, as htmx sends it. */
async function csrfOf(page: Page): Promise<string> {
  const headers = await page.locator('body').getAttribute('hx-headers');
  return (JSON.parse(headers ?? '{}') as { 'X-CSRF-Token'?: string })['X-CSRF-Token'] ?? '';
}

async function stateOf(id: string): Promise<string> {
  const r = await c.callbacks.retrieve({ id: acme.id, name: acme.name }, id);
  return r.reason ? `${r.state} (${r.reason})` : r.state;
}

async function scheduled(minutes: number): Promise<string> {
  return (
    await c.callbacks.create(
      { id: acme.id, name: acme.name },
      { serviceName: 'sales', phoneNumber: `+1212555${String(1000 + minutes).slice(-4)}`, desiredTime: inMinutes(minutes) },
    )
  ).id;
}

test('sign in and sign out', async () => {
  const page = await newPage();
  await page.goto(`${base}/ges/callbacks?range=all`);
  await page.waitForURL(/\/ges\/login\?next=/, { waitUntil: 'load' });
  await page.getByLabel('Tenant').fill('acme');
  await page.getByLabel('Login').fill('admin');
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await assert.doesNotReject(page.getByRole('alert').filter({ hasText: 'Sign-in failed' }).waitFor());
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${base}/ges/callbacks?range=all`);
  assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Callbacks');
  assert.match((await page.locator('.who').textContent()) ?? '', /admin · Administrator · acme/);
  const cookie = (await page.context().cookies()).find((k) => k.name === 'ges_console')!;
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.sameSite, 'Strict');

  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL(/\/ges\/login\?signedOut=1/);
  await assert.doesNotReject(page.getByText('You have signed out.').waitFor());
  // The session is gone on the server: the old cookie, sent again, is worth nothing.
  const replay = await fetch(`${base}/ges/callbacks`, { headers: { cookie: `ges_console=${cookie.value}` }, redirect: 'manual' });
  assert.equal(replay.status, 303);
  assert.match(replay.headers.get('location') ?? '', /^\/ges\/login/);
});

test('a session ends after the configured inactivity', async () => {
  const page = await newPage();
  await signIn(page, 'watcher');
  c.clock.advance(IDLE_MS - 30_000);
  await page.goto(`${base}/ges/queues`);
  assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Queues', 'still signed in: activity before the timeout');
  c.clock.advance(IDLE_MS + 1000);
  await page.goto(`${base}/ges/callbacks`);
  await page.waitForURL(/\/ges\/login\?ended=1/);
  await assert.doesNotReject(page.getByText(/Your session has ended/).waitFor());
});

test('creating a scheduled callback through the slot picker', async () => {
  const page = await newPage();
  await signIn(page, 'admin');
  await page.getByRole('link', { name: 'Create callback' }).click();
  await page.waitForURL(`${base}/ges/callbacks/new`);
  await page.getByRole('radio', { name: /Scheduled/ }).check();
  await page.getByLabel('Customer number').fill('+1 212 555 0177');
  const day = inMinutes(2 * 24 * 60).slice(0, 10);
  const slots = page.waitForResponse((r) => r.url().includes('/ges/callbacks/slots') && r.url().includes(`date=${day}`));
  await page.getByLabel(/^Day/).fill(day);
  await slots;
  const slot = page.getByLabel(/^Time slot/);
  await slot.locator('option').nth(20).waitFor({ state: 'attached' });
  const option = slot.locator('option').nth(20);
  const value = (await option.getAttribute('value'))!;
  assert.match((await option.textContent()) ?? '', /^\d{2}:\d{2} \(100 of 100 free\)$/);
  await slot.selectOption(value);
  await page.getByRole('button', { name: 'Create callback' }).click();
  await page.waitForURL(/\/ges\/callbacks\/[0-9a-f-]{36}\?created=1/);
  await assert.doesNotReject(page.getByText('Callback created.').waitFor());
  const id = /callbacks\/([0-9a-f-]{36})/.exec(page.url())![1]!;
  const record = await c.callbacks.retrieve({ id: acme.id, name: acme.name }, id);
  assert.equal(record.state, 'SCHEDULED');
  assert.equal(record.desiredTime.toISOString(), value, 'booked at the slot picked');
  assert.equal(record.phoneNumber, '+12125550177');
  assert.equal(await page.locator('#live-state').textContent(), 'SCHEDULED');
});

test('cancelling callbacks from the list, with confirmation', async () => {
  const a = await scheduled(90);
  const b = await scheduled(95);
  const keep = await scheduled(100);
  const page = await newPage();
  await signIn(page, 'admin');
  await page.goto(`${base}/ges/callbacks?range=all`);
  await page.getByLabel(`Select callback ${a}`).check();
  await page.getByLabel(`Select callback ${b}`).check();
  await page.getByRole('button', { name: 'Cancel selected…' }).click();
  await page.waitForURL(`${base}/ges/callbacks/cancel`);
  assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Cancel 2 callbacks?');
  assert.equal(await stateOf(a), 'SCHEDULED', 'nothing happens before the confirmation');
  await page.getByRole('button', { name: 'Yes, cancel them' }).click();
  await assert.doesNotReject(page.locator('#cancel-summary').filter({ hasText: '2 cancelled.' }).waitFor());
  assert.equal(await stateOf(a), 'COMPLETED (CANCELLED_BY_ADMIN)');
  assert.equal(await stateOf(b), 'COMPLETED (CANCELLED_BY_ADMIN)');
  assert.equal(await stateOf(keep), 'SCHEDULED');
  await page.getByRole('link', { name: 'Back to the callbacks' }).click();
  await page.waitForURL(/\/ges\/callbacks\?range=all/);
  assert.equal(await page.locator('tr', { hasText: a }).locator('.reason').textContent(), '(CANCELLED_BY_ADMIN)');
});

test('a Monitor cannot cancel, not even by posting the form directly', async () => {
  const id = await scheduled(120);
  const page = await newPage();
  await signIn(page, 'watcher');
  await page.goto(`${base}/ges/callbacks?range=all`);
  assert.equal(await page.getByRole('button', { name: 'Cancel selected…' }).count(), 0, 'no cancel button for a Monitor');
  assert.equal(await page.getByRole('link', { name: 'Create callback' }).count(), 0);
  const status = await postDirectly(page, '/ges/callbacks/cancel', { _csrf: await csrfOf(page), id, confirm: 'yes' });
  assert.equal(status, 403);
  assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Not allowed');
  assert.equal(await page.locator('[data-error-code]').getAttribute('data-error-code'), 'GES_CONSOLE_FORBIDDEN');
  assert.equal(await stateOf(id), 'SCHEDULED', 'nothing changed');
});

test('a forged form is refused for its CSRF token', async () => {
  const id = await scheduled(130);
  const page = await newPage();
  await signIn(page, 'admin');
  await page.goto(`${base}/ges/callbacks/${id}`);
  const status = await postDirectly(page, '/ges/callbacks/cancel', { _csrf: 'forged-by-another-site', id, confirm: 'yes' });
  assert.equal(status, 403);
  assert.equal(await page.locator('[data-error-code]').getAttribute('data-error-code'), 'GES_CONSOLE_CSRF_INVALID');
  assert.equal(await stateOf(id), 'SCHEDULED', 'nothing changed');
});

test('editing a capacity rule in the weekly grid', async () => {
  const page = await newPage();
  await signIn(page, 'admin');
  await page.getByRole('link', { name: 'Configuration' }).click();
  await page.getByRole('link', { name: 'Capacity', exact: true }).click();
  await page.getByRole('link', { name: 'Edit day-shift' }).click();
  await page.waitForURL(/\/ges\/config\/capacity\/rule\?name=day-shift/);
  assert.equal(await page.getByLabel('Monday 09:00–09:30').inputValue(), '6');
  await page.getByLabel('Monday 09:00–09:30').fill('8');
  await page.getByLabel('Wednesday 14:00–14:30').fill('3');
  await page.getByLabel('Default capacity').fill('1');
  await page.getByRole('button', { name: 'Save rule' }).click();
  await page.waitForURL(/\/ges\/config\/capacity\?saved=day-shift/);
  await assert.doesNotReject(page.getByText('Capacity rule day-shift saved.').waitFor());
  const rule = (await listCapacityRules(db.pool, acme.id)).find((r) => r.name === 'day-shift')!.definition;
  assert.equal(rule.defaultCapacity, 1);
  assert.deepEqual(rule.weekly, {
    mon: [
      { from: '09:00', to: '09:30', capacity: 8 },
      { from: '09:30', to: '12:00', capacity: 6 },
    ],
    wed: [{ from: '14:00', to: '14:30', capacity: 3 }],
  });
});
