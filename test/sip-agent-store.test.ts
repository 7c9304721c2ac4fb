// The SIP adapter's agents against the real PostgreSQL: who reserve() picks (idle longest, never
// excluded, never not ready), that two racing reserves never hold one agent, that a lease runs
// out on the database clock, that release is fenced by the dial key, that registrations expire,
// that only digest hashes of a password are kept, and the `ges agent ...` commands end to end.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createTestDb, createTestTenant, TEST_DATABASE_URL, type TestDb, type TestTenant } from './support/test-env.ts';
import { waitFor } from './support/wait-for.ts';
import {
  bindSipContact,
  holdSipAgent,
  insertSipAgent,
  isSipTenant,
  listSipAgents,
  releaseSipAgent,
  renewSipAgentHolds,
  reserveSipAgent,
  setSipAgentNotReady,
  setSipAgentReady,
  sipAgentHeldFor,
  sipAgentSecrets,
  sipContactOf,
  sipQueueCounts,
  unbindSipContact,
} from '../src/store/sip-agent-store.ts';
import { PgSipAgentDirectory, type SipPresenceChange } from '../src/app/sip-agent-directory.ts';
import { AgentAdmin, sipDigestSecrets } from '../src/app/agent-admin.ts';

let db: TestDb;

before(async () => {
  db = await createTestDb();
});
after(async () => {
  await db.close();
});

const LONG = 60_000;
const key = () => `dial-${randomBytes(4).toString('hex')}`;

/** A tenant with services sales and support and these agents, made ready in the order given (the first has waited longest). */
async function tenantWith(ready: string[], notReady: string[] = [], queues = ['sales']): Promise<TestTenant> {
  const tenant = await createTestTenant(db, undefined, { sales: {}, support: {} });
  for (const login of [...ready, ...notReady]) assert.ok(await insertSipAgent(db.pool, tenant.id, { login, queues, uri: `sip:${login}@127.0.0.2` }));
  for (const login of ready) await setSipAgentReady(db.pool, tenant.id, login);
  return tenant;
}

const login = (a: { login: string } | undefined) => a?.login;

test('reserve holds the ready agent idle longest, never an excluded or not ready one, and gives the same agent to a repeat', async () => {
  const t = await tenantWith(['ann', 'bob', 'cat'], ['dan']);
  await insertSipAgent(db.pool, t.id, { login: 'eve', queues: ['support'], uri: 'sip:eve@127.0.0.2' });
  await setSipAgentReady(db.pool, t.id, 'eve');

  const k1 = key();
  const first = await reserveSipAgent(db.pool, t.name, 'sales', k1, [], LONG);
  assert.deepEqual(first, { tenant: t.name, login: 'ann', queues: ['sales'], uri: 'sip:ann@127.0.0.2' });
  assert.equal(login(await reserveSipAgent(db.pool, t.name, 'sales', k1, [], LONG)), 'ann', 'a repeat takes no second agent');
  assert.equal(login(await reserveSipAgent(db.pool, t.name, 'sales', key(), ['bob'], LONG)), 'cat', 'bob is excluded, ann is held');
  assert.equal(login(await reserveSipAgent(db.pool, t.name, 'sales', key(), [], LONG)), 'bob');
  assert.equal(await reserveSipAgent(db.pool, t.name, 'sales', key(), [], LONG), undefined, 'dan is not ready, eve takes support only');
  assert.equal(login(await sipAgentHeldFor(db.pool, k1)), 'ann');

  // The key's agent is excluded (it rejected the preview): the key gets another one.
  assert.ok(await releaseSipAgent(db.pool, k1, 'ann'));
  const k2 = key();
  assert.equal(login(await reserveSipAgent(db.pool, t.name, 'sales', k2, [], LONG)), 'ann');
  await setSipAgentReady(db.pool, t.id, 'dan');
  assert.equal(login(await reserveSipAgent(db.pool, t.name, 'sales', k2, ['ann'], LONG)), 'dan');
});

test('an agent released last goes to the back of the line; one who just became ready waits behind those idle longer', async () => {
  const t = await tenantWith(['ann', 'bob', 'cat']);
  const k = key();
  assert.equal(login(await reserveSipAgent(db.pool, t.name, 'sales', k, [], LONG)), 'ann');
  assert.ok(await releaseSipAgent(db.pool, k, 'ann'));
  await setSipAgentNotReady(db.pool, t.id, 'bob', 'break');
  await setSipAgentReady(db.pool, t.id, 'bob');
  await setSipAgentReady(db.pool, t.id, 'cat'); // already ready: keeps its place
  const order: string[] = [];
  for (let i = 0; i < 3; i++) order.push(login(await reserveSipAgent(db.pool, t.name, 'sales', key(), [], LONG))!);
  assert.deepEqual(order, ['cat', 'ann', 'bob']);
});

test('concurrent reserves on separate connections never hold the same agent', async () => {
  const logins = Array.from({ length: 8 }, (_, i) => `a${i}`);
  const t = await tenantWith(logins);
  const clients = await Promise.all(Array.from({ length: 10 }, () => db.pool.connect()));
  try {
    const got = await Promise.all(clients.map((c) => reserveSipAgent(c, t.name, 'sales', key(), [], LONG)));
    const held = got.filter((a) => a !== undefined).map((a) => a.login);
    assert.equal(held.length, 8, 'each free agent went to exactly one reserve, two found none');
    assert.equal(new Set(held).size, held.length, 'no agent held twice');

    // One agent, two racing nodes: one of them gets it.
    const one = await tenantWith(['solo']);
    const [x, y] = await Promise.all([
      reserveSipAgent(clients[0]!, one.name, 'sales', 'x', [], LONG),
      reserveSipAgent(clients[1]!, one.name, 'sales', 'y', [], LONG),
    ]);
    assert.deepEqual([login(x), login(y)].filter(Boolean), ['solo']);
  } finally {
    for (const c of clients) c.release();
  }
});

test('a hold whose lease ran out frees the agent on the database clock; renew keeps holds alive', async () => {
  const t = await tenantWith(['ann']);
  const lost = key();
  assert.equal(login(await reserveSipAgent(db.pool, t.name, 'sales', lost, [], 5)), 'ann');
  // The node holding ann died: nobody releases her, her lease simply runs out.
  const next = key();
  const taken = await waitFor(() => reserveSipAgent(db.pool, t.name, 'sales', next, [], LONG), 'the lease of the lost hold to run out', 5000);
  assert.equal(taken.login, 'ann');
  assert.equal(await sipAgentHeldFor(db.pool, lost), undefined);
  assert.equal(await releaseSipAgent(db.pool, lost, 'ann'), false, 'the late release of the dead attempt changes nothing');
  assert.equal(login(await sipAgentHeldFor(db.pool, next)), 'ann');

  const before = (await listSipAgents(db.pool, t.id))[0]!.heldUntil!;
  assert.equal(await renewSipAgentHolds(db.pool, [next, 'other-key'], 10 * LONG), 1);
  const renewed = (await listSipAgents(db.pool, t.id))[0]!.heldUntil!;
  assert.ok(renewed.getTime() - before.getTime() > 8 * LONG, 'the lease runs from now for the new length');
  assert.equal(await renewSipAgentHolds(db.pool, [], LONG), 0);
});

test('release is fenced by the dial key; hold takes a named agent only when ready and free', async () => {
  const t = await tenantWith(['ann', 'bob'], ['dan']);
  const k = key();
  assert.equal(login(await holdSipAgent(db.pool, t.name, 'bob', k, LONG)), 'bob');
  assert.equal(login(await holdSipAgent(db.pool, t.name, 'bob', k, LONG)), 'bob', 'the same key again: harmless');
  assert.equal(await holdSipAgent(db.pool, t.name, 'bob', key(), LONG), undefined, 'held by another attempt');
  assert.equal(await holdSipAgent(db.pool, t.name, 'dan', key(), LONG), undefined, 'not ready');
  assert.equal(await holdSipAgent(db.pool, t.name, 'nobody', key(), LONG), undefined);

  assert.equal(await releaseSipAgent(db.pool, 'another-key', 'bob'), false);
  assert.equal(await releaseSipAgent(db.pool, k, 'ann'), false, 'the key does not hold ann');
  assert.equal(login(await sipAgentHeldFor(db.pool, k)), 'bob');
  assert.equal(await releaseSipAgent(db.pool, k, 'bob'), true);
  assert.equal(await sipAgentHeldFor(db.pool, k), undefined);
  assert.equal(await releaseSipAgent(db.pool, k, 'bob'), false, 'twice: nothing');

  // Not ready while held: the call goes on, the agent is offered nothing after it.
  const k2 = key();
  await holdSipAgent(db.pool, t.name, 'ann', k2, LONG);
  await setSipAgentNotReady(db.pool, t.id, 'ann', 'unreachable');
  assert.equal(login(await sipAgentHeldFor(db.pool, k2)), 'ann');
  await releaseSipAgent(db.pool, k2, 'ann');
  assert.equal(login(await reserveSipAgent(db.pool, t.name, 'sales', key(), [], LONG)), 'bob');
});

test('counts per queue: available is ready and not held, signed in is ready, held or on a break', async () => {
  const t = await tenantWith(['ann', 'bob', 'cat'], ['dan', 'eve'], ['sales', 'support']);
  await setSipAgentNotReady(db.pool, t.id, 'dan', 'lunch'); // on a break: signed in; eve: signed out
  await holdSipAgent(db.pool, t.name, 'ann', key(), LONG);
  const held = key();
  await holdSipAgent(db.pool, t.name, 'bob', held, LONG);
  await setSipAgentNotReady(db.pool, t.id, 'bob', 'preview timeout');
  await holdSipAgent(db.pool, t.name, 'cat', key(), 1); // lease of 1 ms: free again at once
  await waitFor(async () => (await sipQueueCounts(db.pool, t.id))[0]?.available === 1, 'the 1 ms lease to run out', 5000);
  assert.deepEqual(await sipQueueCounts(db.pool, t.id), [
    { tenant: t.name, queue: 'sales', available: 1, signedIn: 4 },
    { tenant: t.name, queue: 'support', available: 1, signedIn: 4 },
  ]);
});

test('registrations: bind, latest contact first, expiry on the database clock, unbind; only registering agents have credentials', async () => {
  const t = await createTestTenant(db, `Reg-${randomBytes(3).toString('hex')}`);
  const admin = new AgentAdmin(db.pool);
  await admin.create(t.name, 'ann', { queues: ['sales'], password: 'correct horse battery' });
  await admin.create(t.name, 'bob', { queues: ['sales'], uri: 'sip:2001@127.0.0.3' });
  const domain = t.name.toLowerCase(); // a REGISTER's domain comes lower-cased
  assert.equal(await isSipTenant(db.pool, domain), true);
  assert.equal(await isSipTenant(db.pool, 'no-such-tenant'), false);
  assert.deepEqual(await sipAgentSecrets(db.pool, domain, 'ann'), sipDigestSecrets('ann', t.name, 'correct horse battery'));
  assert.equal(await sipAgentSecrets(db.pool, domain, 'bob'), undefined, 'a fixed phone does not register');
  assert.equal(await sipAgentSecrets(db.pool, domain, 'nobody'), undefined);

  assert.equal(await sipContactOf(db.pool, domain, 'ann'), undefined);
  await bindSipContact(db.pool, domain, 'ann', 'sip:ann@127.0.0.4:5070', 3600);
  await bindSipContact(db.pool, domain, 'ann', 'sip:ann@127.0.0.5:5070', 1);
  assert.equal(await sipContactOf(db.pool, domain, 'ann'), 'sip:ann@127.0.0.5:5070', 'bound last, called first');
  await waitFor(async () => (await sipContactOf(db.pool, domain, 'ann')) === 'sip:ann@127.0.0.4:5070', 'the 1 s binding to expire', 5000);
  await bindSipContact(db.pool, domain, 'ann', 'sip:ann@127.0.0.4:5070', 60); // a refresh also drops the expired binding
  const contacts = await db.pool.query('SELECT contact FROM sip_registration r JOIN tenant t ON t.id = r.tenant_id WHERE t.name = $1', [t.name]);
  assert.deepEqual(
    contacts.rows.map((r) => r.contact),
    ['sip:ann@127.0.0.4:5070'],
  );
  await unbindSipContact(db.pool, domain, 'ann', 'sip:ann@127.0.0.4:5070');
  assert.equal(await sipContactOf(db.pool, domain, 'ann'), undefined);
  await bindSipContact(db.pool, domain, 'nobody', 'sip:x@127.0.0.6', 60);
  assert.equal(await sipContactOf(db.pool, domain, 'nobody'), undefined, 'no binding for an unknown agent');

  // Through the directory: Expires 0 removes the binding.
  const dir = new PgSipAgentDirectory(db.pool);
  await dir.bind(domain, 'ann', 'sip:ann@127.0.0.7', 60);
  assert.equal(await dir.contactOf(domain, 'ann'), 'sip:ann@127.0.0.7');
  await dir.bind(domain, 'ann', 'sip:ann@127.0.0.7', 0);
  assert.equal(await dir.contactOf(domain, 'ann'), undefined);
  assert.equal(await dir.isTenant(t.name.toUpperCase()), true);
  assert.ok(await dir.credentials(domain, 'ann'));

  await admin.remove(t.name, 'ann');
  assert.equal(
    (await db.pool.query('SELECT count(*)::int AS n FROM sip_registration r JOIN tenant t ON t.id = r.tenant_id WHERE t.name = $1', [t.name])).rows[0].n,
    0,
  );
});

test('an agent reached at its softphone is available and reserved only while it is registered', async () => {
  const t = await createTestTenant(db);
  const admin = new AgentAdmin(db.pool);
  await admin.create(t.name, 'ann', { queues: ['sales'], password: 'correct horse battery' });
  await admin.setReady(t.name, 'ann');
  const counts = async () => (await sipQueueCounts(db.pool, t.id))[0];
  assert.deepEqual(await counts(), { tenant: t.name, queue: 'sales', available: 0, signedIn: 1 });
  assert.equal(await reserveSipAgent(db.pool, t.name, 'sales', key(), [], LONG), undefined);
  assert.equal(await holdSipAgent(db.pool, t.name, 'ann', key(), LONG), undefined);
  await bindSipContact(db.pool, t.name, 'ann', 'sip:ann@127.0.0.4:5070', 1);
  assert.equal((await counts())?.available, 1);
  const k = key();
  assert.equal(login(await holdSipAgent(db.pool, t.name, 'ann', k, LONG)), 'ann');
  await releaseSipAgent(db.pool, k, 'ann');
  await waitFor(async () => (await counts())?.available === 0, 'the registration to expire', 5000);
  assert.equal(await reserveSipAgent(db.pool, t.name, 'sales', key(), [], LONG), undefined);
});

test('only digest hashes of a password are kept: HA1 = H(login:realm:password), no password column', async () => {
  const t = await createTestTenant(db, `Acme-${randomBytes(3).toString('hex')}`);
  const password = `pw-${randomBytes(8).toString('hex')}`;
  await new AgentAdmin(db.pool).create(t.name, 'ann', { queues: ['sales'], password });
  const realm = t.name.toLowerCase();
  const { rows } = await db.pool.query(
    `SELECT a.ha1_md5, a.ha1_sha256, md5($2) AS expected_md5, row_to_json(a)::text AS everything
       FROM sip_agent a WHERE a.tenant_id = $1 AND a.login = 'ann'`,
    [t.id, `ann:${realm}:${password}`],
  );
  assert.equal(rows[0].ha1_md5, rows[0].expected_md5);
  assert.equal(rows[0].ha1_sha256, createHash('sha256').update(`ann:${realm}:${password}`).digest('hex'));
  assert.ok(!rows[0].everything.includes(password), 'the password is nowhere in the row');
  const columns = await db.pool.query(
    `SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name IN ('sip_agent', 'sip_registration')`,
  );
  assert.ok(columns.rows.length > 10);
  assert.deepEqual(
    columns.rows.filter((c) => /pass|secret|pw/.test(c.column_name)),
    [],
  );
  await new AgentAdmin(db.pool).setPassword(t.name, 'ann', 'another long password');
  assert.deepEqual(await sipAgentSecrets(db.pool, t.name, 'ann'), sipDigestSecrets('ann', t.name, 'another long password'));
  await assert.rejects(new AgentAdmin(db.pool).setPassword(t.name, 'ann', 'short'), /12 to 256 characters/);
});

test('the directory counts from its snapshot, takes a held agent off at once, and tells listeners of readiness changes', async () => {
  const t = await tenantWith(['ann', 'bob'], ['cat']);
  const dir = new PgSipAgentDirectory(db.pool, { refreshMs: 20 });
  const changes: SipPresenceChange[] = [];
  const off = dir.onPresence((c) => {
    if (c.tenant === t.name) changes.push(c);
  });
  // A function, not the array: assert.deepEqual(changes, []) would narrow the array's type to never[].
  const told = (who: string, ready: boolean) => changes.some((c) => c.login === who && c.ready === ready);
  await dir.start();
  try {
    assert.equal(dir.available(t.name, 'sales'), 2);
    assert.equal(dir.signedIn(t.name, 'sales'), 2, 'cat is signed out');
    assert.equal(dir.available(t.name, 'nope'), 0);
    assert.deepEqual(changes, [], 'the first snapshot is the baseline');

    const k = key();
    assert.equal(login(await dir.reserve(t.name, 'sales', k, [], LONG)), 'ann');
    assert.equal(dir.available(t.name, 'sales'), 1, 'counted out before the next refresh');
    await waitFor(() => told('ann', false), 'ann held to be told');

    await setSipAgentReady(db.pool, t.id, 'cat');
    await waitFor(() => told('cat', true), 'cat ready to be told');
    await dir.setNotReady(t.name, 'bob', 'preview timeout');
    await dir.release(k, 'ann');
    await waitFor(() => told('ann', true), 'ann released to be told');
    await waitFor(() => told('bob', false), 'bob not ready to be told');
    assert.equal(dir.available(t.name, 'sales'), 2);
    assert.equal(dir.signedIn(t.name, 'sales'), 3);
    assert.equal(login(await dir.hold(t.name, 'cat', k, LONG)), 'cat');
    assert.equal(login(await dir.heldFor(k)), 'cat');
    await dir.renew([k], LONG);
  } finally {
    off();
    await dir.stop();
  }
});

/** Runs `ges` as an operator would, with `stdin` typed in. */
function ges(args: string[], stdin = ''): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/ges.mjs', ...args], {
      env: { ...process.env, DATABASE_URL: TEST_DATABASE_URL, DATABASE_SCHEMA: db.schema, LOG_LEVEL: 'silent' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

test('ges agent create, password, ready, not-ready, list, remove from the command line', async () => {
  const t = await createTestTenant(db, `cli-${randomBytes(3).toString('hex')}`, { sales: {}, support: {} });
  const password = 'a softphone password';
  const created = await ges(['agent', 'create', t.name, 'ann', '--queues', 'sales,support', '--name', 'Ann Smith', '--password-stdin'], `${password}\n`);
  assert.equal(created.code, 0, created.stderr);
  assert.match(created.stdout, /agent ann of cli-\w+ created/);
  assert.equal((await ges(['agent', 'create', t.name, 'bob', '--queues', 'sales', '--uri', 'sip:2002@127.0.0.3'])).code, 0);

  const unknownService = await ges(['agent', 'create', t.name, 'cat', '--queues', 'sales,billing', '--uri', 'sip:2003@127.0.0.3']);
  assert.equal(unknownService.code, 1);
  assert.match(unknownService.stderr, /has no service billing \(its services: sales, support\)/);
  const unknownTenant = await ges(['agent', 'ready', 'no-such-tenant', 'ann']);
  assert.equal(unknownTenant.code, 1);
  assert.match(unknownTenant.stderr, /^ges: no tenant named no-such-tenant\n$/);
  const unknownAgent = await ges(['agent', 'ready', t.name, 'zed']);
  assert.match(unknownAgent.stderr, /no agent "zed" in tenant/);
  const unreachable = await ges(['agent', 'create', t.name, 'dan', '--queues', 'sales']);
  assert.match(unreachable.stderr, /fixed phone \(--uri\) or .* password \(--password-stdin\)/);
  const twice = await ges(['agent', 'create', t.name, 'bob', '--queues', 'sales', '--uri', 'sip:2002@127.0.0.3']);
  assert.match(twice.stderr, /an agent bob already exists/);

  assert.deepEqual(await sipAgentSecrets(db.pool, t.name, 'ann'), sipDigestSecrets('ann', t.name, password));
  const changed = await ges(['agent', 'password', t.name, 'ann'], 'the new softphone password\n');
  assert.equal(changed.code, 0, changed.stderr);
  assert.deepEqual(await sipAgentSecrets(db.pool, t.name, 'ann'), sipDigestSecrets('ann', t.name, 'the new softphone password'));

  assert.equal((await ges(['agent', 'ready', t.name, 'ann'])).code, 0);
  assert.equal((await ges(['agent', 'not-ready', t.name, 'bob', '--reason', 'lunch'])).code, 0);
  const list = await ges(['agent', 'list', t.name]);
  assert.equal(list.code, 0, list.stderr);
  assert.equal(list.stdout, `ann "Ann Smith"  sales,support  registers  ready\nbob  sales  sip:2002@127.0.0.3  not ready (lunch)\n`);
  const { rows } = await db.pool.query('SELECT ha1_md5, ha1_sha256 FROM sip_agent WHERE tenant_id = $1', [t.id]);
  for (const r of rows) for (const secret of [r.ha1_md5, r.ha1_sha256].filter(Boolean)) assert.ok(!list.stdout.includes(secret));
  assert.equal(await reserveSipAgent(db.pool, t.name, 'support', key(), [], LONG), undefined, 'ann is ready but her softphone has not registered');
  await bindSipContact(db.pool, t.name, 'ann', 'sip:ann@127.0.0.8:5070', 60);
  assert.equal(login(await reserveSipAgent(db.pool, t.name, 'support', key(), [], LONG)), 'ann', 'the CLI is the presence source');

  assert.equal((await ges(['agent', 'update', t.name, 'bob', '--queues', 'support', '--no-uri'])).code, 0);
  assert.equal((await ges(['agent', 'not-ready', t.name, 'ann'])).code, 0);
  assert.equal((await ges(['agent', 'remove', t.name, 'ann'])).code, 0);
  assert.equal((await ges(['agent', 'list', t.name])).stdout, 'bob  support  unreachable  not ready (lunch)\n');
  assert.equal((await ges(['agent', 'remove', t.name, 'ann'])).code, 1);
});
