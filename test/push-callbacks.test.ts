import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDb, type TestDb } from './support/test-env.ts';
import { startFakeFcm, type FakeFcm } from './support/fake-fcm.ts';
import { applyTenantConfig } from '../src/app/tenant-config.ts';
import { exportTenantConfig } from '../src/app/tenant-config.ts';
import { TenantSecrets } from '../src/app/tenant-secrets.ts';
import { newSecretKey, parseSecretKey, SecretBox } from '../src/app/secret-box.ts';
import { FcmPushSender } from '../src/app/fcm-push-sender.ts';
import { CallInService } from '../src/app/call-in-service.ts';
import { pushCallInIssuer } from '../src/app/push-call-in.ts';
import { PushCallbackService } from '../src/app/push-callback-service.ts';
import { CallbackService } from '../src/app/callback-service.ts';
import { AvailabilityService } from '../src/app/availability-service.ts';
import { buildApiApp } from '../src/main/api-app-assembly.ts';
import { CallbackEngine } from '../src/engine/callback-engine.ts';
import { simulatedEngineClock } from '../src/engine/engine-clock.ts';
import { MemoryHotState } from '../src/hot/memory-hot-state.ts';
import { createLogger } from '../src/logging/logger.ts';
import { createMetrics } from '../src/metrics/metrics.ts';
import { SimClock } from '../src/voice/simulator/sim-clock.ts';
import { ContactCenterSimulator } from '../src/voice/simulator/contact-center-simulator.ts';
import { addApiKey, findTenantByName, generateApiKey } from '../src/store/tenant-store.ts';
import { listEvents } from '../src/store/callback-history.ts';

/**
 * USERORIGINATED (push) callbacks end to end: the API, the engine on the simulated contact center,
 * the FCM sender against a local fake FCM and token endpoint that verifies the signed assertion
 * (test/support/fake-fcm.ts), and the app's answers through the API.
 */

const USER_AGENT = 'node-superagent/3.7.0';
const silent = createLogger('silent');

interface Setup {
  service?: Record<string, unknown>;
  agents?: number;
  /** The service account stored for the tenant: the trusted one by default. */
  account?: 'trusted' | 'foreign' | 'none';
}

async function pushCenter(t: TestContext, setup: Setup = {}) {
  const db: TestDb = await createTestDb();
  t.after(() => db.close());
  const fcm: FakeFcm = await startFakeFcm();
  t.after(() => fcm.close());
  const secrets = new TenantSecrets(db.pool, new SecretBox(parseSecretKey(newSecretKey())!));
  const tenantName = `push-${Math.random().toString(36).slice(2, 8)}`;
  await applyTenantConfig(
    db.pool,
    {
      tenant: tenantName,
      services: [
        {
          name: 'app',
          options: { callDirection: 'USERORIGINATED', inQueueChecking: 'false', requestsPerNumberPer24h: 0, pushedCallbackExpiryTimeSec: 60, ...setup.service },
        },
      ],
      callInGroups: [{ name: 'Push', dnis: ['+18005550142'], accessCode: true }],
      ...((setup.account ?? 'trusted') === 'none' ? {} : { pushServiceAccount: setup.account === 'foreign' ? fcm.foreignServiceAccount : fcm.serviceAccount }),
    },
    secrets,
  );
  const tenant = (await findTenantByName(db.pool, tenantName))!;
  const apiKey = generateApiKey();
  await addApiKey(db.pool, tenant.id, apiKey);

  const metrics = createMetrics({ defaultMetrics: false });
  const sender = new FcmPushSender(secrets, { apiUrl: fcm.url, tokenUrl: '', retryBaseMs: 5 }, silent, metrics);
  const callIn = new CallInService(db.pool, metrics);
  const clock = new SimClock(Math.ceil(Date.now() / 1000) * 1000);
  const sim = new ContactCenterSimulator({
    seed: 11,
    clock,
    customers: { answer: 1, busy: 0, noAnswer: 0, machine: 0, invalid: 0 },
    queues: { [`${tenantName}/app`]: { agents: setup.agents ?? 1, handleTimeSec: { mean: 60, sd: 5 } } },
  });
  const engine = new CallbackEngine({
    db: db.pool,
    hot: new MemoryHotState(),
    voice: sim,
    clock: simulatedEngineClock(clock),
    logger: silent,
    pollMs: 1000,
    watchdogCapSec: 600,
    push: sender,
    callIn: pushCallInIssuer(db.pool, callIn),
  });
  db.clock.__test__pretendNow(clock.now());
  const callbacks = new CallbackService(db.pool, db.clock);
  callbacks.attach(engine, (err) => {
    throw err;
  });
  await sim.start();
  await engine.start();
  const api = await buildApiApp({
    pool: db.pool,
    callbacks,
    availability: new AvailabilityService(db.pool, db.clock),
    callIn,
    push: new PushCallbackService(engine, sender),
    logger: silent,
    bodyLimitBytes: 256 * 1024,
  });
  await api.ready();
  t.after(async () => {
    await api.close();
    await engine.stop();
    await sim.stop();
  });

  /** A request as Genesys' client (superagent 3.7) puts it on the wire. */
  const post = async (path: string, body: unknown) => {
    const res = await api.inject({
      method: 'POST',
      url: `/engagement/v3${path}`,
      headers: { 'x-api-key': apiKey, 'content-type': 'application/json', accept: 'application/json', 'user-agent': USER_AGENT },
      payload: JSON.stringify(body),
    });
    return { status: res.statusCode, json: res.json<{ status: { code: number; errorCode?: string }; data: Record<string, unknown> }>() };
  };
  const run = async (maxMs: number, done: () => Promise<boolean> | boolean, stepMs = 250) => {
    for (let ms = 0; ms < maxMs; ms += stepMs) {
      clock.advanceBy(stepMs);
      await engine.idle();
      db.clock.__test__pretendNow(clock.now());
      if (await done()) return;
    }
    assert.fail(`condition not met within ${maxMs} ms of simulated time`);
  };
  const create = async (target: string | string[], phone: string) => {
    const targets = (Array.isArray(target) ? target : [target]).map((t) => ({ channel: 'FCM', target: t }));
    const res = await post('/callbacks/create', { serviceName: 'app', phoneNumber: phone, pushTargets: targets, userData: { orderId: 'A-1' } });
    assert.equal(res.status, 200, JSON.stringify(res.json));
    await engine.idle();
    return res.json.data.id as string;
  };
  const retrieve = async (id: string) => (await post('/callbacks/retrieve', { id })).json.data;
  const history = (id: string) => listEvents(db.pool, tenant.id, id);
  const pushesTo = (id: string) => fcm.messages.filter((m) => m.body.message.data?.callbackId === id);
  const counted = async () => {
    const values = (await metrics.registry.getSingleMetric('ges_push_notifications_sent')!.get()).values;
    return Object.fromEntries(values.map((v) => [String(v.labels.result), v.value]));
  };
  return { db, fcm, sim, clock, engine, api, post, run, create, retrieve, history, pushesTo, counted, tenant, secrets };
}

test('confirm: the push is sent to every target with a token from a verified signed assertion, and only then is the customer dialed', async (t) => {
  const pc = await pushCenter(t);
  const id = await pc.create(['reg-token-1', 'reg-token-2'], '+14155553001');
  await pc.run(10_000, () => pc.pushesTo(id).length === 2);
  assert.deepEqual(pc.fcm.refusals, [], 'every assertion and bearer token was good');
  assert.equal(pc.fcm.assertions.length, 1, 'one token, cached for the second message');
  const [first] = pc.pushesTo(id);
  assert.equal(first!.project, 'ges-push-test');
  assert.deepEqual(
    pc.pushesTo(id).map((m) => m.body.message.token),
    ['reg-token-1', 'reg-token-2'],
  );
  const data = first!.body.message.data!;
  assert.equal(data.callbackId, id);
  assert.equal(data.serviceName, 'app');
  assert.equal(data.actions, 'CONFIRM,SNOOZE,CANCEL');
  assert.equal(data.push, '1');
  const wire = JSON.stringify(first!.body);
  assert.ok(!wire.includes('4155553001') && !wire.includes('A-1'), 'neither the number nor userData leaves in a push');
  assert.ok(Buffer.byteLength(wire) < 4096);
  assert.equal(pc.sim.dialsPlaced(), 0, 'a USERORIGINATED callback is not dialed before the app answers');
  assert.equal((await pc.retrieve(id)).callbackState, 'QUEUED');
  assert.ok((await pc.history(id)).some((e) => e.detail === 'PUSH_SENT 2/2'));

  const confirmed = await pc.post('/callbacks/confirm', { id });
  assert.equal(confirmed.status, 200, JSON.stringify(confirmed.json));
  assert.equal(confirmed.json.data.action, 'DIAL');
  await pc.run(300_000, async () => (await pc.retrieve(id)).callbackState === 'COMPLETED', 1000);
  const done = await pc.retrieve(id);
  assert.equal(done.callbackReason, 'AGENT_CONNECTED');
  assert.equal(pc.sim.dialsPlaced(), 1);
  const again = await pc.post('/callbacks/confirm', { id });
  assert.equal(again.status, 400);
  assert.equal(again.json.status.errorCode, 'GES_PUSH_ANSWER_NOT_ALLOWED');
  assert.equal((await pc.counted()).sent, 2);
});

test('confirm on a call-in service: the number and access code of the group are given, the callback completes CALL_IN_GIVEN, nobody is dialed', async (t) => {
  const pc = await pushCenter(t, { service: { pushCallInGroup: 'Push' } });
  const id = await pc.create('reg-token-3', '+14155553002');
  await pc.run(10_000, () => pc.pushesTo(id).length === 1);
  const res = await pc.post('/callbacks/confirm', { id });
  assert.equal(res.status, 200, JSON.stringify(res.json));
  assert.equal(res.json.data.action, 'CALL_IN');
  assert.equal(res.json.data.toPhoneNumber, '+18005550142');
  assert.equal(typeof res.json.data.accessCode, 'number');
  assert.ok((res.json.data.expirationTime as number) > Date.now() - 60_000);
  const record = await pc.retrieve(id);
  assert.equal(record.callbackState, 'COMPLETED');
  assert.equal(record.callbackReason, 'CALL_IN_GIVEN');
  const { rows } = await pc.db.pool.query('SELECT callback_id FROM callin_request WHERE id = $1', [res.json.data.callInRequestId]);
  assert.equal(rows[0]?.callback_id, id, 'the call-in request is linked to the callback');
  assert.equal(pc.sim.dialsPlaced(), 0);
});

test('snooze: out of the queue for the snooze duration, then pushed again before a callback created after it; the last push cannot be snoozed', async (t) => {
  const pc = await pushCenter(t, { service: { snoozeDurationSec: 20, pushedCallbackExpiryTimeSec: 30, maxNumberOfUserAvailabilityConfirmationAttempts: 2 } });
  const a = await pc.create('tok-a', '+14155553011');
  const b = await pc.create('tok-b', '+14155553012');
  const c = await pc.create('tok-c', '+14155553013');
  await pc.run(5_000, () => pc.pushesTo(a).length === 1);
  assert.equal(pc.pushesTo(b).length + pc.pushesTo(c).length, 0, 'one free agent: one push at a time');
  const snoozed = await pc.post('/callbacks/snooze', { id: a });
  assert.equal(snoozed.status, 200, JSON.stringify(snoozed.json));
  assert.equal(snoozed.json.data.action, 'SNOOZE');
  await pc.engine.idle();
  await pc.run(5_000, () => pc.pushesTo(b).length === 1);
  // B goes unanswered and expires; by then A's snooze has ended and A, not C, is next.
  await pc.run(120_000, () => pc.pushesTo(a).length === 2, 500);
  assert.equal(pc.pushesTo(c).length, 0, 'C, created after A, is not pushed before A again');
  assert.equal((await pc.retrieve(b)).callbackReason, 'FAIL_USER_NO_CONFIRM');
  const second = pc.pushesTo(a)[1]!.body.message.data!;
  assert.equal(second.push, '2');
  assert.equal(second.actions, 'CONFIRM,CANCEL', 'the last push offers no snooze');
  const refused = await pc.post('/callbacks/snooze', { id: a });
  assert.equal(refused.status, 400);
  assert.equal(refused.json.status.errorCode, 'GES_PUSH_ANSWER_NOT_ALLOWED');
  const details = (await pc.history(a)).map((e) => e.detail);
  assert.ok(details.includes('PUSH_SNOOZED'));
});

test('a confirm racing a snooze: exactly one moves the callback, the other is refused', async (t) => {
  const pc = await pushCenter(t);
  const id = await pc.create('tok-race', '+14155553041');
  await pc.run(5_000, () => pc.pushesTo(id).length === 1);
  const answers = await Promise.all([pc.post('/callbacks/confirm', { id }), pc.post('/callbacks/snooze', { id })]);
  assert.deepEqual(answers.map((a) => a.status).sort(), [200, 400], JSON.stringify(answers.map((a) => a.json)));
  const loser = answers.find((a) => a.status === 400)!;
  assert.equal(loser.json.status.errorCode, 'GES_PUSH_ANSWER_NOT_ALLOWED');
  const details = (await pc.history(id)).map((e) => e.detail);
  assert.equal(details.filter((d) => d === 'PUSH_CONFIRMED' || d === 'PUSH_SNOOZED').length, 1, details.join(' | '));
});

test('waitForUserConfirm false: the push only informs and GES goes on at once (dials, or puts the call-in number in the push)', async (t) => {
  const dial = await pushCenter(t, { service: { waitForUserConfirm: false } });
  const id = await dial.create('tok-info', '+14155553051');
  await dial.run(300_000, async () => (await dial.retrieve(id)).callbackState === 'COMPLETED', 1000);
  assert.equal((await dial.retrieve(id)).callbackReason, 'AGENT_CONNECTED');
  assert.equal(dial.pushesTo(id)[0]!.body.message.data!.actions, 'CANCEL');
  assert.equal(dial.sim.dialsPlaced(), 1, 'dialed without a confirm');

  const callIn = await pushCenter(t, { service: { waitForUserConfirm: false, pushCallInGroup: 'Push' } });
  const other = await callIn.create('tok-info-2', '+14155553052');
  await callIn.run(5_000, async () => (await callIn.retrieve(other)).callbackState === 'COMPLETED');
  assert.equal((await callIn.retrieve(other)).callbackReason, 'CALL_IN_GIVEN');
  const data = callIn.pushesTo(other)[0]!.body.message.data!;
  assert.equal(data.toPhoneNumber, '+18005550142');
  assert.match(data.accessCode!, /^[1-9][0-9]+$/);
  assert.equal(callIn.sim.dialsPlaced(), 0);
});

test('no answer until the push expiry: FAIL_USER_NO_CONFIRM, never dialed', async (t) => {
  const pc = await pushCenter(t, { service: { pushedCallbackExpiryTimeSec: 30 } });
  const id = await pc.create('tok-x', '+14155553021');
  await pc.run(5_000, () => pc.pushesTo(id).length === 1);
  await pc.run(120_000, async () => (await pc.retrieve(id)).callbackState === 'COMPLETED', 1000);
  const record = await pc.retrieve(id);
  assert.equal(record.callbackReason, 'FAIL_USER_NO_CONFIRM');
  const expired = (await pc.history(id)).find((e) => e.detail === 'PUSH_EXPIRED');
  assert.ok(expired);
  const sent = (await pc.history(id)).find((e) => e.detail === 'PUSH_SENT 1/1')!;
  const waited = (expired.at.getTime() - sent.at.getTime()) / 1000;
  assert.ok(waited >= 29 && waited <= 33, `expired after ${waited} s, configured 30 s`);
  assert.equal(pc.sim.dialsPlaced(), 0);
});

test('FCM unavailable is retried with backoff and counted; an unregistered token is refused for good; bad credentials fail closed', async (t) => {
  const pc = await pushCenter(t);
  pc.fcm.answers.push({ status: 503 }, { status: 500 });
  const id = await pc.create('tok-retry', '+14155553031');
  await pc.run(5_000, () => pc.pushesTo(id).length === 1);
  let figures = await pc.counted();
  assert.equal(figures.retry, 2, 'two retries');
  assert.equal(figures.sent, 1);
  assert.ok((await pc.history(id)).some((e) => e.detail === 'PUSH_SENT 1/1'));
  assert.equal((await pc.post('/callbacks/cancel', { id })).status, 200);

  // Three unavailable answers: the push is not lost, it is tried again after a pause out of the queue.
  pc.fcm.answers.push({ status: 503, retryAfter: '0' }, { status: 503 }, { status: 503 });
  const later = await pc.create('tok-later', '+14155553032');
  await pc.run(60_000, () => pc.pushesTo(later).length === 1, 500);
  const details = (await pc.history(later)).map((e) => e.detail);
  assert.ok(details.includes('PUSH_FAILED: FCM unavailable'), details.join(' | '));
  figures = await pc.counted();
  assert.equal(figures.failed, 1);
  assert.equal((await pc.post('/callbacks/cancel', { id: later })).status, 200);

  pc.fcm.unregistered.add('tok-gone');
  const gone = await pc.create('tok-gone', '+14155553033');
  await pc.run(5_000, async () => (await pc.retrieve(gone)).callbackState === 'COMPLETED');
  assert.equal((await pc.retrieve(gone)).callbackReason, 'FAIL_ERROR');
  assert.ok((await pc.history(gone)).some((e) => e.detail === 'PUSH_FAILED: refused by FCM'));
  assert.equal((await pc.counted()).rejected, 1);

  const bad = await pushCenter(t, { account: 'foreign' });
  const refused = await bad.create('tok-y', '+14155553034');
  await bad.run(5_000, async () => (await bad.retrieve(refused)).callbackState === 'COMPLETED');
  assert.equal((await bad.retrieve(refused)).callbackReason, 'FAIL_ERROR');
  assert.ok(
    bad.fcm.refusals.some((r) => r.startsWith('token: signature')),
    'the fake token endpoint refused the foreign signature',
  );
  assert.equal(bad.fcm.messages.length, 0);
  assert.equal((await bad.counted()).unconfigured, 1);
});

test('the service account is write-only: stored sealed, never exported, and a bad one is a 400 naming the field', async (t) => {
  const pc = await pushCenter(t);
  const doc = await exportTenantConfig(pc.db.pool, pc.tenant.name);
  assert.ok(!JSON.stringify(doc).includes('PRIVATE KEY') && !('pushServiceAccount' in doc));
  const { rows } = await pc.db.pool.query<{ sealed: unknown }>('SELECT * FROM tenant_secret WHERE tenant_id = $1', [pc.tenant.id]);
  assert.equal(rows.length, 1);
  assert.ok(!JSON.stringify(rows[0]).includes('PRIVATE KEY'), 'sealed in the database');
  await assert.rejects(
    applyTenantConfig(pc.db.pool, { tenant: pc.tenant.name, pushServiceAccount: '{"project_id":"p"}' }, pc.secrets),
    /pushServiceAccount: client_email missing/,
  );
  await assert.rejects(applyTenantConfig(pc.db.pool, { tenant: pc.tenant.name, pushServiceAccount: pc.fcm.serviceAccount }), /TENANT_SECRET_KEY/);
});

test('notification/publish as engagement-client-js sends it: the event goes to the one target with the tenant credentials', async (t) => {
  const pc = await pushCenter(t);
  // NotificationPublishParms: channel, target, event (the FCM notification object), validate_only.
  const res = await pc.post('/notification/publish', {
    channel: 'FCM',
    target: 'reg-token-publish',
    event: { notification: { title: 'Your callback', body: 'An agent is free' }, topic: 'everyone' },
    validate_only: true,
  });
  assert.equal(res.status, 200, JSON.stringify(res.json));
  assert.match(String(res.json.data.name), /^projects\/ges-push-test\/messages\//);
  const sent = pc.fcm.messages.at(-1)!.body;
  assert.equal(sent.message.token, 'reg-token-publish');
  assert.equal(sent.message.topic, undefined, 'a topic in the event cannot widen the audience');
  assert.deepEqual(sent.message.notification, { title: 'Your callback', body: 'An agent is free' });
  assert.equal(sent.validate_only, true);
  // The event as JSON text (the client's model types it String) is taken as well.
  const asText = await pc.post('/notification/publish', { channel: 'FCM', target: 'reg-2', event: JSON.stringify({ data: { k: 'v' } }) });
  assert.equal(asText.status, 200, JSON.stringify(asText.json));
  const wrong = await pc.post('/notification/publish', { channel: 'APNS', target: 'reg-2', event: {} });
  assert.equal(wrong.status, 400);
  pc.fcm.unregistered.add('reg-dead');
  const dead = await pc.post('/notification/publish', { channel: 'FCM', target: 'reg-dead', event: {} });
  assert.equal(dead.status, 400);
  assert.equal(dead.json.status.errorCode, 'GES_PUSH_REFUSED');

  const none = await pushCenter(t, { account: 'none' });
  const unconfigured = await none.post('/notification/publish', { channel: 'FCM', target: 'reg-3', event: {} });
  assert.equal(unconfigured.status, 400);
  assert.equal(unconfigured.json.status.errorCode, 'GES_PUSH_NOT_CONFIGURED');
});
