import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { maskPhone, normalizePhone, phoneFromStored, phoneToStored } from '../src/domain/phone-number.ts';
import { filterUserData } from '../src/domain/user-data.ts';
import { planCreate, PAST_TOLERANCE_MS } from '../src/domain/callback-request.ts';
import { parseServiceOptions, activeLimit } from '../src/domain/service-options.ts';
import { cancelRefusal, STATES, REASONS } from '../src/domain/callback-state.ts';
import { GesError } from '../src/domain/errors.ts';
import { parseInstant } from '../src/domain/instant.ts';
import { captchaApplies, parseCaptchaSettings } from '../src/domain/captcha/captcha-settings.ts';
import { judgeSiteverify, readSiteverifyAnswer } from '../src/domain/captcha/siteverify-verdict.ts';

const strictRules = { defaultCountry: 'US', disallowImpossibleNumbers: true, disallowPremiumNumbers: true };

function code(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return err instanceof GesError ? err.code : `not a GesError: ${String(err)}`;
  }
}

describe('phone numbers', () => {
  test('national formats are read in the service country and normalised to E.164', () => {
    assert.equal(normalizePhone('(415) 555-2671', strictRules), '+14155552671');
    assert.equal(normalizePhone('020 7946 0018', { ...strictRules, defaultCountry: 'GB' }), '+442079460018');
    assert.equal(normalizePhone('+33 1 86 95 17 20', strictRules), '+33186951720', 'an international number ignores the default country');
    assert.equal(normalizePhone(' +49-30-901820 ', strictRules), '+4930901820');
  });

  test('impossible and premium numbers are refused only where the service says so', () => {
    assert.equal(
      code(() => normalizePhone('+1415555', strictRules)),
      'GES_PHONE_INVALID',
    );
    assert.equal(
      code(() => normalizePhone('+19005550123', strictRules)),
      'GES_PHONE_PREMIUM',
    );
    assert.equal(normalizePhone('+19005550123', { ...strictRules, disallowPremiumNumbers: false }), '+19005550123');
    assert.equal(normalizePhone('+1415555', { ...strictRules, disallowImpossibleNumbers: false }), '+1415555');
    assert.equal(
      code(() => normalizePhone('call me', strictRules)),
      'GES_PHONE_INVALID',
    );
    assert.equal(
      code(() => normalizePhone('+', strictRules)),
      'GES_PHONE_INVALID',
    );
  });

  test('stored as digits and masked in logs', () => {
    assert.equal(phoneToStored('+14155552671'), '14155552671');
    assert.equal(phoneFromStored('14155552671'), '+14155552671');
    assert.equal(maskPhone('+14155552671'), '+14*******71');
    assert.ok(!maskPhone('+14155552671').includes('5552'));
  });
});

describe('userData', () => {
  test('keeps identifier keys, including unicode and reserved words, and names the dropped ones', () => {
    assert.deepEqual(filterUserData({ a: 1, _b: 2, $c: 3, ñame: 4, class: 5, 'a-b': 6, '9x': 7, '': 8 }), {
      kept: { a: 1, _b: 2, $c: 3, ñame: 4, class: 5 },
      dropped: ['a-b', '9x', ''],
    });
    assert.deepEqual(filterUserData({ 'x y': 1 }), { kept: undefined, dropped: ['x y'] });
    assert.deepEqual(filterUserData(undefined), { kept: undefined, dropped: [] });
  });
});

describe('create planning', () => {
  const now = new Date('2030-03-01T12:00:00.000Z');
  const options = parseServiceOptions({});

  test('no desiredTime means immediate; a desiredTime means scheduled', () => {
    assert.equal(planCreate({ serviceName: 's', phoneNumber: '+14155552671' }, options, now).scheduled, false);
    const plan = planCreate({ serviceName: 's', phoneNumber: '+14155552671', desiredTime: '2030-03-02T09:00:00+01:00' }, options, now);
    assert.equal(plan.scheduled, true);
    assert.equal(plan.desiredTime?.toISOString(), '2030-03-02T08:00:00.000Z');
  });

  test('the past tolerance absorbs client clock drift, no more', () => {
    const slightlyPast = new Date(now.getTime() - PAST_TOLERANCE_MS + 1000).toISOString();
    // Accepted; due at once, so it is an immediate callback (the next test), unless alwaysCheckCapacity keeps it scheduled.
    assert.equal(planCreate({ serviceName: 's', phoneNumber: '+14155552671', desiredTime: slightlyPast }, options, now).scheduled, false);
    assert.equal(
      planCreate({ serviceName: 's', phoneNumber: '+14155552671', desiredTime: slightlyPast, alwaysCheckCapacity: true }, options, now).scheduled,
      true,
    );
    const past = new Date(now.getTime() - PAST_TOLERANCE_MS - 1000).toISOString();
    assert.equal(
      code(() => planCreate({ serviceName: 's', phoneNumber: '+14155552671', desiredTime: past }, options, now)),
      'GES_DESIRED_TIME_PAST',
    );
  });

  test('a desiredTime within the execution buffer is "now": immediate, taking no slot', () => {
    const inBuffer = new Date(now.getTime() + (options.executionBufferSec - 1) * 1000).toISOString();
    const beyond = new Date(now.getTime() + (options.executionBufferSec + 1) * 1000).toISOString();
    const soon = planCreate({ serviceName: 's', phoneNumber: '+14155552671', desiredTime: inBuffer }, options, now);
    assert.deepEqual([soon.scheduled, soon.desiredTime], [false, undefined]);
    assert.equal(planCreate({ serviceName: 's', phoneNumber: '+14155552671', desiredTime: beyond }, options, now).scheduled, true);
    assert.equal(
      planCreate({ serviceName: 's', phoneNumber: '+14155552671', desiredTime: inBuffer }, parseServiceOptions({ alwaysCheckCapacity: true }), now).scheduled,
      true,
      'the service option keeps it scheduled too',
    );
    assert.equal(
      planCreate({ serviceName: 's', phoneNumber: '+14155552671', desiredTime: inBuffer }, parseServiceOptions({ immediateEnabled: false }), now).scheduled,
      true,
      'a service without immediate callbacks keeps it scheduled',
    );
  });

  test('cbOfferType is reporting only: any case is canonical, anything else is ignored', () => {
    const extras = (cbOfferType: string) => planCreate({ serviceName: 's', phoneNumber: '+14155552671', cbOfferType }, options, now).extras;
    assert.deepEqual(extras('scheduled'), { cbOfferType: 'SCHEDULED' });
    assert.equal(
      extras('ASAP if the request does not include the desiredTime parameter and SCHEDULED if the request includes the desiredTime parameter.'),
      undefined,
    );
  });

  test("the horizon is the service's", () => {
    const in10days = new Date(now.getTime() + 10 * 86_400_000).toISOString();
    assert.equal(
      code(() => planCreate({ serviceName: 's', phoneNumber: '+14155552671', desiredTime: in10days }, parseServiceOptions({ horizonDays: 7 }), now)),
      'GES_DESIRED_TIME_BEYOND_HORIZON',
    );
    assert.equal(planCreate({ serviceName: 's', phoneNumber: '+14155552671', desiredTime: in10days }, options, now).scheduled, true);
  });

  test('optional fields go to extras only when given', () => {
    assert.equal(planCreate({ serviceName: 's', phoneNumber: '+14155552671' }, options, now).extras, undefined);
    const plan = planCreate({ serviceName: 's', phoneNumber: '+14155552671', language: 'de-DE', pushChannel: 'FCM', pushTarget: 't' }, options, now);
    assert.deepEqual(plan.extras, { language: 'de-DE', pushTargets: [{ channel: 'FCM', target: 't' }] });
  });

  test('in-queue checking modes map to limits', () => {
    assert.equal(activeLimit(parseServiceOptions({})), 2);
    assert.equal(activeLimit(parseServiceOptions({ inQueueChecking: 'strict' })), 1);
    assert.equal(activeLimit(parseServiceOptions({ inQueueChecking: 'false' })), undefined);
  });
});

describe('service options', () => {
  test("defaults are GES's and bad options name themselves", () => {
    assert.deepEqual(parseServiceOptions({}), {
      defaultCountry: 'US',
      disallowImpossibleNumbers: true,
      disallowPremiumNumbers: true,
      inQueueChecking: 'true',
      requestsPerNumberPer24h: 6,
      immediateEnabled: true,
      scheduledEnabled: true,
      horizonDays: 14,
      callDirection: 'USERTERMINATED',
      minNoticeMinutes: 0,
      rejectOutOfHours: false,
      immediateBlackoutMinutes: 0,
      alwaysCheckCapacity: false,
      slotMinutes: 5,
      slotCapacity: 100,
      executionBufferSec: 120,
      firstConnectParty: 'CUSTOMER',
      ttlSec: 86400,
      priorityStepSec: 60,
      retry: {
        busy: { maxAttempts: 3, delaySec: 300 },
        noAnswer: { maxAttempts: 3, delaySec: 300 },
        machine: { maxAttempts: 3, delaySec: 300 },
        invalidNumber: { maxAttempts: 1, delaySec: 300 },
        failed: { maxAttempts: 3, delaySec: 60 },
        fax: { maxAttempts: 1, delaySec: 300 },
        sit: { maxAttempts: 1, delaySec: 300 },
        networkFailure: { maxAttempts: 3, delaySec: 60 },
      },
      attachUdata: 'single_json',
      cpdEnable: true,
      onMachine: 'RETRY',
      enableDispositionDialog: false,
      agentDispositionTimeoutSec: 45,
      callBackLaterDelaySec: 3600,
      userConfirm: false,
      userConfirmTimeoutSec: 30,
      onUserConfirmTimeout: 'CONNECT',
      confirmPrompt: 'ges-confirm-press-1',
      agentPreview: false,
      agentPreviewTimeoutSec: 30,
      agentPreviewAllowReject: true,
      agentRejectRetryTimeoutSec: 5,
      maxPreviewRejects: 3,
      previewTimeoutSetsNotReady: false,
      pushNotificationThresholdSec: 0,
      pushedCallbackExpiryTimeSec: 300,
      snoozeDurationSec: 300,
      waitForUserConfirm: true,
      maxNumberOfUserAvailabilityConfirmationAttempts: 3,
      pushCallInGroup: '',
      captcha: 'tenant',
    });
    assert.throws(() => parseServiceOptions({ maxPreviewRejects: 10 }), /maxPreviewRejects/);
    assert.throws(() => parseServiceOptions({ onUserConfirmTimeout: 'MAYBE' }), /onUserConfirmTimeout/);
    assert.throws(() => parseServiceOptions({ confirmPrompt: 'x'.repeat(257) }), /confirmPrompt/);
    assert.equal(parseServiceOptions({ retry: { busy: { maxAttempts: 5 } } }).retry.busy.maxAttempts, 5);
    assert.throws(() => parseServiceOptions({ horizonDays: 90 }), /horizonDays/);
    assert.throws(() => parseServiceOptions({ defaultCountry: 'usa' }), /defaultCountry/);
    assert.throws(() => parseServiceOptions({ colour: 'blue' }), /option/);
  });
});

describe('states and instants', () => {
  test('codes are the on-disk format and stay fixed', () => {
    assert.deepEqual(STATES, { SCHEDULED: 1, QUEUED: 2, ROUTING: 3, PROCESSING: 4, COMPLETED: 5 });
    assert.equal(REASONS.CANCELLED, 2);
    assert.equal(REASONS.CANCELLED_BY_ADMIN, 3);
    assert.equal(cancelRefusal('SCHEDULED'), undefined);
    assert.equal(cancelRefusal('ROUTING'), undefined);
    assert.match(cancelRefusal('PROCESSING') ?? '', /PROCESSING/);
  });

  test('instants need a zone or offset', () => {
    assert.equal(parseInstant('2030-06-10T22:05:00.000Z', 'desiredTime').toISOString(), '2030-06-10T22:05:00.000Z');
    assert.equal(
      code(() => parseInstant('2030-06-10T22:05:00', 'desiredTime')),
      'GES_DESIRED_TIME_INVALID',
    );
    assert.equal(
      code(() => parseInstant('2030-06-10', 'from')),
      'GES_VALIDATION',
    );
  });
});

describe('CAPTCHA rules', () => {
  test('a service checks when it requires it, or by default when its tenant has a provider; off never', () => {
    assert.deepEqual(
      (['tenant', 'required', 'off'] as const).map((m) => [captchaApplies(m, true), captchaApplies(m, false)]),
      [
        [true, false],
        [true, true],
        [false, false],
      ],
    );
  });

  test('settings: provider endpoints by default, https only (http to loopback), refuse on outage by default', () => {
    assert.deepEqual(parseCaptchaSettings({ provider: 'turnstile' }), {
      provider: 'turnstile',
      verifyUrl: 'https://challenges.cloudflare.com/turnstile/v0/siteverify',
      onVerifierDown: 'refuse',
    });
    assert.equal(parseCaptchaSettings({ provider: 'siteverify', verifyUrl: 'http://127.0.0.1:9000/v' }).verifyUrl, 'http://127.0.0.1:9000/v');
    for (const verifyUrl of ['http://verify.example.com/', 'ftp://127.0.0.1/', 'https://user:pw@verify.example.com/', 'not a url'])
      assert.throws(() => parseCaptchaSettings({ provider: 'siteverify', verifyUrl }), GesError, verifyUrl);
    assert.throws(() => parseCaptchaSettings({ provider: 'siteverify' }), /needs a verifyUrl/);
  });

  test("answers: success, refusal, score below the minimum, and GES's own setup errors told apart", () => {
    const judge = (json: unknown, minScore?: number) => judgeSiteverify(readSiteverifyAnswer(json)!, { minScore });
    assert.deepEqual(judge({ success: true }), { kind: 'accepted' });
    assert.deepEqual(judge({ success: false, 'error-codes': ['timeout-or-duplicate'] }), { kind: 'rejected', why: 'timeout-or-duplicate' });
    assert.equal(judge({ success: true, score: 0.4 }, 0.5).kind, 'rejected');
    assert.equal(judge({ success: true, score: 0.5 }, 0.5).kind, 'accepted');
    assert.equal(judge({ success: true }, 0.5).kind, 'rejected', 'no score cannot meet a minimum');
    assert.deepEqual(judge({ success: false, 'error-codes': ['invalid-input-secret'] }), { kind: 'misconfigured', why: 'invalid-input-secret' });
    assert.equal(readSiteverifyAnswer({ ok: true }), undefined, 'not a siteverify answer');
    assert.equal(readSiteverifyAnswer([true]), undefined);
  });
});
