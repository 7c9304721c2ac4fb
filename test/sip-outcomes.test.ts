import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSipCenter } from './support/sip-contact-center.ts';
import { freeSipPort, sippMessages, startSipp } from './support/sip-peers.ts';
import { applyTenantConfig } from '../src/app/tenant-config.ts';
import { waitFor } from './support/wait-for.ts';
import type { ServiceOptions } from '../src/domain/service-options.ts';
import type { CompletionReason } from '../src/domain/callback-state.ts';

/**
 * Every way a customer call over SIP can end before an agent, played by SIPp as the trunk: the
 * SIP answer is mapped to the outcome of docs/VOICE-SIP.md, the engine retries or completes as
 * the service's policy says, and the history keeps the SIP status beside each step.
 */

const ONE = { maxAttempts: 1, delaySec: 0 };
const TWICE = { maxAttempts: 2, delaySec: 1 };

interface Case {
  name: string;
  scenario: string;
  /** Calls the trunk takes (-m): one per attempt the policy allows. */
  calls: number;
  service: Partial<ServiceOptions>;
  keys?: Record<string, string>;
  ringTimeoutSec?: number;
  reason: CompletionReason;
  /** Each attempt's history detail, in order. */
  details: RegExp[];
  auth?: boolean;
}

const CASES: Case[] = [
  {
    name: 'busy (486) twice: retried once, then FAIL_CALL_TO_CUSTOMER',
    scenario: 'uas-486.xml',
    calls: 2,
    service: { retry: { busy: TWICE } as ServiceOptions['retry'] },
    reason: 'FAIL_CALL_TO_CUSTOMER',
    details: [/^busy \(SIP 486\)$/, /^busy \(SIP 486\)$/],
  },
  {
    name: 'no answer: CANCEL at the ring timeout, no retry left',
    scenario: 'uas-ring-forever.xml',
    calls: 1,
    ringTimeoutSec: 2,
    service: { retry: { noAnswer: ONE } as ServiceOptions['retry'] },
    reason: 'FAIL_CALL_TO_CUSTOMER',
    details: [/^no_answer \(ring timeout, CANCEL sent\)$/],
  },
  {
    name: 'invalid number (404): fails at once by default',
    scenario: 'uas-404.xml',
    calls: 1,
    service: {},
    reason: 'FAIL_CALL_TO_CUSTOMER',
    details: [/^invalid_number \(SIP 404\)$/],
  },
  {
    // The path failed, not the customer: a platform failure once the retries are spent.
    name: 'network failure (503) twice: retried once, then FAIL_ERROR',
    scenario: 'uas-503.xml',
    calls: 2,
    service: { retry: { networkFailure: TWICE } as ServiceOptions['retry'] },
    reason: 'FAIL_ERROR',
    details: [/^network_failure \(SIP 503\)$/, /^network_failure \(SIP 503\)$/],
  },
  {
    name: 'confirmation timeout: the customer presses nothing, GES hangs up, FAIL_USER_NO_CONFIRM',
    scenario: 'trunk-silent.xml',
    calls: 1,
    service: { userConfirm: true, userConfirmTimeoutSec: 1, onUserConfirmTimeout: 'END' },
    reason: 'FAIL_USER_NO_CONFIRM',
    details: [/timeout/],
  },
  {
    name: 'confirmation declined: the customer presses 2 (RFC 4733), FAIL_USER_NO_CONFIRM',
    scenario: 'trunk-press-key.xml',
    keys: { dtmf_pcap: '/usr/share/sip-tester/dtmf_2833_2.pcap' },
    calls: 1,
    service: { userConfirm: true, userConfirmTimeoutSec: 15, onUserConfirmTimeout: 'END' },
    reason: 'FAIL_USER_NO_CONFIRM',
    details: [/declined/],
  },
  {
    name: 'a trunk that asks for digest authentication (407) is answered; the call proceeds',
    scenario: 'uas-auth.xml',
    auth: true,
    calls: 1,
    service: { userConfirm: true, userConfirmTimeoutSec: 1, onUserConfirmTimeout: 'END' },
    reason: 'FAIL_USER_NO_CONFIRM',
    details: [/timeout/],
  },
];

for (const c of CASES) {
  test(`SIP outcome: ${c.name}`, async (t) => {
    const port = await freeSipPort('127.0.0.2');
    const sipp = await startSipp({
      scenario: c.scenario,
      address: '127.0.0.2',
      port,
      calls: c.calls,
      timeoutSec: 60,
      keys: { ...c.keys, ...(c.auth ? { user: 'ges-trunk', password: 'trunk-secret' } : {}) },
    });
    t.after(() => sipp.stop());
    const cc = await startSipCenter(t, {
      service: c.service,
      trunk: { address: '127.0.0.2', port, ...(c.auth ? { auth: { username: 'ges-trunk', password: 'trunk-secret' } } : {}) },
      ...(c.ringTimeoutSec ? { ringTimeoutSec: c.ringTimeoutSec } : {}),
    });
    await cc.standbyAgent();
    const { id } = await cc.callbacks.create(cc.tenant, { serviceName: 'sales', phoneNumber: '+14155550142' });
    const done = await cc.waitState(id, 'COMPLETED', 45_000).catch((err: Error) => {
      throw new Error(`${err.message}; sipp said:\n${sipp.text().slice(-2500)}`);
    });
    assert.equal(done.reason, c.reason);
    assert.equal(done.attempt, c.calls, 'one attempt per call the trunk took');
    const details = await cc.details(id);
    let at = 0;
    for (const want of c.details) {
      const found = details.slice(at).findIndex((d) => want.test(d));
      assert.ok(found >= 0, `history ${JSON.stringify(details)} lacks ${String(want)}`);
      at += found + 1;
    }
    // The trunk saw every call it expected, and each ended as its scenario says (a clean exit).
    assert.equal(await sipp.waitForExit(20_000), 0, sipp.text().slice(-2000));
    await waitFor(() => cc.legs.length >= c.calls, 'every leg closed');
  });
}

test('SIP: a number the number rules block after the callback was created is never dialed (invalid_number, no INVITE)', async (t) => {
  const port = await freeSipPort('127.0.0.2');
  const sipp = await startSipp({ scenario: 'uas-answer.xml', address: '127.0.0.2', port, calls: 1, timeoutSec: 60 });
  t.after(() => sipp.stop());
  const cc = await startSipCenter(t, { trunk: { address: '127.0.0.2', port } });
  // No agent yet: the engine does not dial, so the rule can change under the waiting callback.
  const { id } = await cc.callbacks.create(cc.tenant, { serviceName: 'sales', phoneNumber: '+14155550142' });
  await applyTenantConfig(cc.db.pool, {
    tenant: cc.tenant.name,
    numberRules: [{ name: 'NoSanFrancisco', blocked: ['+1415*'] }],
    services: [{ name: 'sales', numberRule: 'NoSanFrancisco', options: {} }],
  });
  await cc.standbyAgent();
  const done = await cc.waitState(id, 'COMPLETED', 30_000);
  assert.equal(done.reason, 'FAIL_CALL_TO_CUSTOMER');
  assert.ok((await cc.details(id)).some((d) => /^invalid_number \(refused by the number rules, not dialed\)$/.test(d)));
  assert.deepEqual(cc.placed, [], 'no leg placed');
  assert.doesNotMatch(await sippMessages(sipp, 'uas-answer.xml'), /INVITE sip:/, 'the trunk never saw an INVITE');
});
