/**
 * Writes docs/screenshots/*.png: the console's main pages on a fresh embedded GES (PGlite in a
 * temporary folder, the demo tenant, simulated agents), with a day of business hours, a capacity
 * rule and some callbacks so the pages show something. `npm run docs:screenshots`; needs Debian's
 * chromium (or CHROMIUM_PATH).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { loadConfig } from '../src/config/config.ts';
import { startGes } from '../src/main/server.ts';
import { applyTenantConfig } from '../src/app/tenant-config.ts';
import { createLogger } from '../src/logging/logger.ts';

const OUT = new URL('../docs/screenshots/', import.meta.url).pathname;
const dataDir = mkdtempSync(join(tmpdir(), 'ges-shots-'));
mkdirSync(OUT, { recursive: true });

const ges = await startGes(
  loadConfig(
    {},
    {
      DATA_DIR: dataDir,
      PORT: 0,
      INTERNAL_PORT: 0,
      HOST: '127.0.0.1',
      DEMO_SEED: 'true',
      SIMULATOR_AGENTS: 2,
      ENGINE_ENABLED: process.env.ENGINE_ENABLED ?? 'true',
    },
  ),
  createLogger('warn'),
);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
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
try {
  const base = ges.apiUrl;
  const demo = ges.demo!;
  await applyTenantConfig(ges.pool, {
    tenant: demo.tenant,
    businessHours: [
      {
        name: 'demo-office',
        timeZone: 'Europe/London',
        weekly: Object.fromEntries(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((d) => [d, ['07:00-22:00']])),
        specialDays: [{ date: '2030-12-25', closed: true, note: 'Christmas Day' }],
      },
    ],
    capacityRules: [
      {
        name: 'demo-capacity',
        slotMinutes: 30,
        defaultCapacity: 2,
        weekly: Object.fromEntries(
          ['mon', 'tue', 'wed', 'thu', 'fri'].map((d) => [
            d,
            [
              { from: '09:00', to: '12:00', capacity: 6 },
              { from: '12:00', to: '18:00', capacity: 4 },
            ],
          ]),
        ),
      },
    ],
    services: [
      {
        name: demo.service,
        businessHours: 'demo-office',
        capacityRule: 'demo-capacity',
        options: { defaultCountry: 'US', inQueueChecking: 'false', requestsPerNumberPer24h: 0 },
      },
    ],
  });
  const api = (path: string, body: unknown) =>
    fetch(`${base}/engagement/v3${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': demo.apiKey! },
      body: JSON.stringify(body),
    }).then((r) => r.json() as Promise<{ data?: { id?: string; slots?: { utcTime: string }[] } }>);
  for (let i = 0; i < 12; i++) await api('/callbacks/create', { serviceName: demo.service, phoneNumber: `+1415555${String(1000 + i)}` });
  const slots = await fetch(`${base}/engagement/v3/callbacks/availability/${demo.service}?numberOfDays=7&maxTimeSlots=60`, {
    headers: { 'x-api-key': demo.apiKey! },
  }).then((r) => r.json() as Promise<{ data: { slots: { utcTime: string }[] } }>);
  for (const [i, s] of slots.data.slots.entries()) {
    if (i % 2 === 0) await api('/callbacks/create', { serviceName: demo.service, phoneNumber: `+1415556${String(1000 + i)}`, desiredTime: s.utcTime });
  }
  await api('/callbacks/create', { serviceName: demo.service, phoneNumber: 'not a number' }); // one failed request for the Developer page

  const page = await browser.newPage({ viewport: { width: 1366, height: 820 } });
  await page.goto(`${base}/ges/login`);
  await page.screenshot({ path: `${OUT}login.png` });
  await page.getByLabel('Tenant').fill(demo.tenant);
  await page.getByLabel('Login').fill(demo.consoleLogin!);
  await page.getByLabel('Password').fill(demo.consolePassword!);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/ges\/callbacks/);
  // Let the simulated contact center take a few callbacks, so the list shows several states.
  const until = Date.now() + 20_000;
  while (Date.now() < until) {
    await page.goto(`${base}/ges/callbacks?range=all`);
    if ((await page.locator('.state-completed').count()) >= 3) break;
    await page.waitForTimeout(1000);
  }
  const shots: [string, string][] = [
    ['callbacks', '/ges/callbacks?range=all'],
    ['queues', '/ges/queues'],
    ['capacity', '/ges/config/capacity'],
    ['capacity-rule', '/ges/config/capacity/rule?name=demo-capacity'],
    ['business-hours', '/ges/config/business-hours'],
    ['services', '/ges/config/services'],
    ['developer', '/ges/developer'],
    ['users', '/ges/users'],
  ];
  for (const [name, path] of shots) {
    await page.goto(`${base}${path}`);
    await page.screenshot({ path: `${OUT}${name}.png` });
  }
  await page.goto(`${base}/ges/callbacks/new`);
  await page.getByRole('radio', { name: /Scheduled/ }).check();
  await page.locator('#slot option').nth(1).waitFor({ state: 'attached' });
  await page.screenshot({ path: `${OUT}create.png` });
  await page.goto(`${base}/ges/callbacks?range=all&sort=updated&order=desc`);
  await page.locator('td.id a').first().click();
  await page.screenshot({ path: `${OUT}callback.png`, fullPage: true });
  console.log(`screenshots written to ${OUT}`);
} finally {
  await browser.close();
  await ges.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
