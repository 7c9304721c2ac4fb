// The console's Number rules and Browser access pages over the real PostgreSQL: an administrator
// writes a rule and gives it to a service, anyone tests a number and is told which entry decided,
// and the browser origins edited here are the ones the API then allows.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { applyTenantConfig, exportTenantConfig } from '../src/app/tenant-config.ts';
import { TenantSecrets } from '../src/app/tenant-secrets.ts';
import { newSecretKey, parseSecretKey, SecretBox } from '../src/app/secret-box.ts';
import { createTestDb, createTestTenant, post, type TestDb, type TestTenant } from './support/test-env.ts';
import { buildConsoleApp, createRoleUsers, get, postForm, signIn, type ConsoleApp, type Signed } from './support/console-env.ts';

let db: TestDb;
let c: ConsoleApp;
let acme: TestTenant;
let admin: Signed;
let monitor: Signed;

before(async () => {
  db = await createTestDb();
  c = await buildConsoleApp(db);
  acme = await createTestTenant(db, 'acme-edge', { sales: { inQueueChecking: 'false', requestsPerNumberPer24h: 0 } });
  await createRoleUsers(c.users, { id: acme.id, name: acme.name });
  admin = await signIn(c.app, 'acme-edge', 'administrator');
  monitor = await signIn(c.app, 'acme-edge', 'monitor');
});

after(async () => {
  await c?.app.close();
  await db?.close();
});

const text = (html: string) =>
  html
    .replace(/<[^>]+>/g, ' ')
    .replace(/&#39;/g, "'")
    .replace(/\s+/g, ' ');

describe('Number rules page', () => {
  test('an administrator saves a rule; a bad one is shown again with the reason', async () => {
    const bad = await postForm(c.app, admin, '/ges/config/number-rules', { name: 'US only', allowedCountries: 'US' });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.headers['x-ges-error-code'], 'GES_VALIDATION');
    assert.match(bad.body, /value="US only"/, 'the form keeps what was typed');
    const saved = await postForm(c.app, admin, '/ges/config/number-rules', {
      name: 'USOnly',
      allowedCountries: 'us, ca',
      permitted: '+442079460018',
      blocked: '+1900*\n+1976*',
    });
    assert.equal(saved.statusCode, 303);
    assert.equal(saved.headers.location, '/ges/config/number-rules?saved=USOnly');
    const doc = await exportTenantConfig(db.pool, 'acme-edge');
    assert.deepEqual(doc.numberRules, [{ name: 'USOnly', allowedCountries: ['CA', 'US'], permitted: ['+442079460018'], blocked: ['+1900*', '+1976*'] }]);
    const page = await get(c.app, monitor, '/ges/config/number-rules');
    assert.equal(page.statusCode, 200);
    assert.match(text(page.body), /USOnly CA, US \+442079460018 \+1900\*, \+1976\* no service/);
    const edit = await get(c.app, admin, '/ges/config/number-rules/edit?name=USOnly');
    assert.match(edit.body, /<textarea id="nr-blocked" name="blocked" rows="5">\+1900\*\n\+1976\*<\/textarea>/);
  });

  test('the service form assigns the rule and shows it selected when edited again; the API then refuses +923001234567', async () => {
    const form = await get(c.app, admin, '/ges/config/services/edit?name=sales');
    assert.match(form.body, /<option value="USOnly">USOnly<\/option>/);
    const saved = await postForm(c.app, admin, '/ges/config/services', {
      existing: '1',
      name: 'sales',
      numberRule: 'USOnly',
      inQueueChecking: 'false',
      requestsPerNumberPer24h: '0',
    });
    assert.equal(saved.statusCode, 303, saved.body.slice(0, 300));
    const again = await get(c.app, admin, '/ges/config/services/edit?name=sales');
    assert.match(again.body, /<option value="USOnly" selected>USOnly<\/option>/);
    assert.match(text((await get(c.app, admin, '/ges/config/number-rules')).body), /USOnly .* sales/);
    const refused = await post(c.app, '/callbacks/create', { serviceName: 'sales', phoneNumber: '+923001234567' }, { 'x-api-key': acme.apiKey });
    assert.equal(refused.statusCode, 400);
    assert.equal(refused.body.status.errorCode, 'GES_PHONE_NOT_PERMITTED');
  });

  test('test a number: any role, the deciding entry and the reason are shown', async () => {
    const pk = await postForm(c.app, monitor, '/ges/config/number-rules/test', { number: '+92 300 1234567', target: 'rule:USOnly', country: 'US' });
    assert.equal(pk.statusCode, 200);
    assert.match(text(pk.body), /Test failed: \+923001234567 under rule USOnly/);
    assert.match(
      text(pk.body),
      /Decided by the allowed countries Country PK Why The country of the number is not in the allowed list of rule USOnly: Pakistan \(PK\)/,
    );
    const gb = await postForm(c.app, monitor, '/ges/config/number-rules/test', { number: '020 7946 0018', target: 'rule:USOnly', country: 'GB' });
    assert.match(text(gb.body), /Passes: \+442079460018 under rule USOnly/);
    assert.match(text(gb.body), /Decided by a permitted number \+442079460018/);
    const premium = await postForm(c.app, monitor, '/ges/config/number-rules/test', { number: '+1 900 555 0100', target: 'service:sales' });
    assert.match(text(premium.body), /Refused before any rule: GES_PHONE_PREMIUM/, 'a service judges with its phone options first');
    const blocked = await postForm(c.app, monitor, '/ges/config/number-rules/test', { number: '+1 976 555 0100', target: 'rule:USOnly' });
    assert.match(text(blocked.body), /Decided by a blocked prefix \+1976\*/);
    const none = await postForm(c.app, monitor, '/ges/config/number-rules/test', { number: '+14155552671', target: 'rule:Nope' });
    assert.equal(none.statusCode, 404);
    const missing = await postForm(c.app, monitor, '/ges/config/number-rules/test', { number: '', target: 'rule:USOnly' });
    assert.equal(missing.statusCode, 400);
    assert.match(missing.body, /enter a phone number to test/);
  });
});

describe('Browser access page', () => {
  test('origins saved here are normalised, shown, and allowed by the API; a bad list changes nothing', async () => {
    const bad = await postForm(c.app, admin, '/ges/config/browser-access', { origins: 'https://shop.example.com\nhttps://shop.example.com/cart' });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.body, /leave out path, query and credentials/);
    assert.equal((await exportTenantConfig(db.pool, 'acme-edge')).cors, undefined);
    const saved = await postForm(c.app, admin, '/ges/config/browser-access', { origins: 'HTTPS://Shop.Example.com/\nhttp://localhost:8080' });
    assert.equal(saved.statusCode, 303);
    const page = await get(c.app, monitor, '/ges/config/browser-access');
    assert.match(page.body, /<code>https:\/\/shop\.example\.com<\/code>/);
    assert.doesNotMatch(page.body, /name="origins"/, 'a monitor reads the list without the form');
    const preflight = await c.app.inject({
      method: 'OPTIONS',
      url: '/engagement/v3/callbacks/create',
      headers: { origin: 'https://shop.example.com', 'access-control-request-method': 'POST' },
    });
    assert.equal(preflight.statusCode, 204);
    assert.equal(preflight.headers['access-control-allow-origin'], 'https://shop.example.com');
    const monitorPost = await postForm(c.app, monitor, '/ges/config/browser-access', { origins: '' });
    assert.equal(monitorPost.statusCode, 403);
  });
});

describe('CAPTCHA on the Browser access page', () => {
  test('the provider settings are shown read-only and the secret only as set', async () => {
    const before = await get(c.app, monitor, '/ges/config/browser-access');
    assert.match(text(before.body), /No CAPTCHA provider/);
    const secret = 'console-never-shows-this-secret-9x';
    const secrets = new TenantSecrets(db.pool, new SecretBox(parseSecretKey(newSecretKey())!));
    await applyTenantConfig(db.pool, { tenant: 'acme-edge', captcha: { provider: 'turnstile', siteKey: '0x4AAA-site', secret, minScore: 0.3 } }, secrets);
    const page = await get(c.app, monitor, '/ges/config/browser-access');
    const shown = text(page.body);
    assert.match(shown, /Provider turnstile/);
    assert.match(shown, /challenges\.cloudflare\.com\/turnstile\/v0\/siteverify/);
    assert.match(shown, /Site key 0x4AAA-site/);
    assert.match(shown, /Secret set \(/);
    assert.match(shown, /Minimum score 0\.3/);
    assert.match(shown, /refuse the create \(503\)/);
    assert.ok(!page.body.includes(secret), 'the secret never reaches the page');
    // The API now asks for a solved challenge; a signed-in supervisor creating in the console does not.
    const api = await post(c.app, '/callbacks/create', { serviceName: 'sales', phoneNumber: '+14155550188' }, { 'x-api-key': acme.apiKey });
    assert.equal(api.body.status.errorCode, 'GES_CAPTCHA_REQUIRED');
    const made = await postForm(c.app, admin, '/ges/callbacks', { type: 'immediate', service: 'sales', phone: '+14155550188' });
    assert.equal(made.statusCode, 303, made.body);
    assert.match(String(made.headers.location), /^\/ges\/callbacks\/[0-9a-f-]+\?created=1$/);
  });
});
