// Number validation rules as a pure domain module: parsing, the order in which entries decide,
// the refusal the API answers with, and (on random cases) that the most specific entry always wins.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { enforceNumberRule, evaluateNumber, parseNumberRule, numberRuleDoc } from '../src/domain/numbers/number-rule.ts';
import { GesError } from '../src/domain/errors.ts';

const US_ONLY = parseNumberRule({ name: 'USOnly', allowedCountries: ['US'] });
const PAKISTAN = '+923001234567';
const SAN_FRANCISCO = '+14155552671';

function refusal(fn: () => unknown): GesError | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    if (err instanceof GesError) return err;
    throw err;
  }
}

describe('number rules: parsing', () => {
  test('names are letters and digits only, as in GES; lists are sorted and deduplicated', () => {
    assert.equal(refusal(() => parseNumberRule({ name: 'US only' }))?.code, 'GES_VALIDATION');
    assert.equal(refusal(() => parseNumberRule({ name: 'us-only' }))?.code, 'GES_VALIDATION');
    const rule = parseNumberRule({ name: 'R1', allowedCountries: ['US', 'CA', 'US'], blocked: ['+1900*', '+1900*', '+14155550100'] });
    assert.deepEqual(numberRuleDoc(rule), { name: 'R1', allowedCountries: ['CA', 'US'], permitted: [], blocked: ['+14155550100', '+1900*'] });
  });

  test('bad entries are refused, naming the rule and the entry', () => {
    assert.match(refusal(() => parseNumberRule({ name: 'R', blocked: ['1900*'] }))!.message, /blocked/);
    assert.match(refusal(() => parseNumberRule({ name: 'R', blocked: ['+1*900'] }))!.message, /blocked/);
    assert.match(
      refusal(() => parseNumberRule({ name: 'R', permitted: ['+92*'], blocked: ['+92*'] }))!.message,
      /numberRule R: \+92\* is both permitted and blocked/,
    );
    assert.match(refusal(() => parseNumberRule({ name: 'R', allowedCountries: ['XX'] }))!.message, /XX is not an ISO 3166 country/);
    assert.match(
      refusal(() => parseNumberRule({ name: 'R', allowedCountries: ['EU'] }))!.message,
      /EU is not an ISO 3166 country with a telephone numbering plan/,
    );
    assert.match(refusal(() => parseNumberRule({ name: 'R', allowedCountries: ['us'] }))!.message, /allowedCountries/);
    assert.match(refusal(() => parseNumberRule({ name: 'R', other: 1 }))!.message, /other/);
  });
});

describe('number rules: evaluation', () => {
  test('a US-only rule refuses a Pakistani mobile and says which country it is', () => {
    const d = evaluateNumber(US_ONLY, PAKISTAN);
    assert.equal(d.allowed, false);
    assert.equal(d.decidedBy, 'country-refused');
    assert.equal(d.country, 'PK');
    assert.match(d.explanation, /not in the allowed list of rule USOnly: Pakistan \(PK\)/);
    const ok = evaluateNumber(US_ONLY, SAN_FRANCISCO);
    assert.deepEqual([ok.allowed, ok.decidedBy, ok.country], [true, 'country-allowed', 'US']);
    assert.match(ok.explanation, /United States \(US\)/);
  });

  test('the most specific entry decides: number, then longest prefix, then country', () => {
    const rule = parseNumberRule({
      name: 'Mixed',
      allowedCountries: ['US'],
      permitted: ['+92300*', '+923009999999'],
      blocked: ['+1900*', '+92*', '+923001234567', '+1415555*'],
      // +1415555* blocked, but one number in it permitted by a longer prefix:
    });
    const with2 = parseNumberRule({ ...numberRuleDoc(rule), permitted: [...rule.permitted, '+14155552*'] });
    assert.equal(evaluateNumber(rule, '+923009999999').decidedBy, 'permitted-number');
    assert.equal(evaluateNumber(rule, '+923001234567').decidedBy, 'blocked-number');
    assert.deepEqual([evaluateNumber(rule, '+923005555555').decidedBy, evaluateNumber(rule, '+923005555555').entry], ['permitted-prefix', '+92300*']);
    assert.deepEqual([evaluateNumber(rule, '+923211234567').decidedBy, evaluateNumber(rule, '+923211234567').entry], ['blocked-prefix', '+92*']);
    assert.equal(evaluateNumber(rule, '+19005550100').allowed, false, 'US premium prefix blocked although US is allowed');
    assert.equal(evaluateNumber(rule, SAN_FRANCISCO).decidedBy, 'blocked-prefix');
    assert.equal(evaluateNumber(with2, SAN_FRANCISCO).decidedBy, 'permitted-prefix');
    assert.equal(evaluateNumber(rule, '+12025550143').decidedBy, 'country-allowed');
  });

  test('a permitted entry lets a number of another country through; no countries means every country', () => {
    const rule = parseNumberRule({ name: 'R', allowedCountries: ['US'], permitted: ['+44*'] });
    assert.equal(evaluateNumber(rule, '+442079460018').allowed, true);
    const open = parseNumberRule({ name: 'Open', blocked: ['+92*'] });
    assert.equal(evaluateNumber(open, '+442079460018').decidedBy, 'any-country');
    assert.equal(evaluateNumber(open, PAKISTAN).allowed, false);
  });

  test('a number of no single country (+800) is refused by a country list, with a reason', () => {
    const d = evaluateNumber(US_ONLY, '+80012345678');
    assert.equal(d.allowed, false);
    assert.equal(d.country, undefined);
    assert.match(d.explanation, /no single country \(calling code \+800\)/);
  });

  test('enforceNumberRule: GES_PHONE_NOT_PERMITTED (400) naming rule and reason, never the number', () => {
    assert.equal(
      refusal(() => enforceNumberRule(undefined, PAKISTAN)),
      undefined,
      'no rule: every number',
    );
    assert.equal(
      refusal(() => enforceNumberRule(US_ONLY, SAN_FRANCISCO)),
      undefined,
    );
    const err = refusal(() => enforceNumberRule(US_ONLY, PAKISTAN))!;
    assert.equal(err.code, 'GES_PHONE_NOT_PERMITTED');
    assert.equal(err.http, 400);
    assert.equal(err.message, 'phoneNumber is not permitted by number rule USOnly: Pakistan (PK) is not an allowed country (allowed: US)');
    const blocked = refusal(() => enforceNumberRule(parseNumberRule({ name: 'B', blocked: [PAKISTAN] }), PAKISTAN, 'fromPhoneNumber'))!;
    assert.equal(blocked.message, 'fromPhoneNumber is not permitted by number rule B: the number is blocked');
    assert.ok(!blocked.message.includes('3001234567'));
  });

  test('on random rules, an exact entry beats every prefix and a longer prefix beats a shorter one', () => {
    const digits = fc.stringMatching(/^[1-9][0-9]{6,13}$/);
    fc.assert(
      fc.property(digits, fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 6 }), fc.boolean(), (d, a, b, exactPermitted) => {
        const number = `+${d}`;
        const [short, long] = [Math.min(a, b), Math.max(a, b) + 1];
        const shortPrefix = `+${d.slice(0, short)}*`;
        const longPrefix = `+${d.slice(0, long)}*`;
        // Long prefix on the opposite list of the short one.
        const rule = parseNumberRule({ name: 'P', allowedCountries: ['US'], permitted: [longPrefix], blocked: [shortPrefix] });
        assert.equal(evaluateNumber(rule, number).allowed, true);
        assert.equal(evaluateNumber(rule, number).entry, longPrefix);
        const exact = parseNumberRule({
          name: 'E',
          permitted: exactPermitted ? [number] : [shortPrefix],
          blocked: exactPermitted ? [shortPrefix, longPrefix] : [number],
        });
        assert.equal(evaluateNumber(exact, number).allowed, exactPermitted);
      }),
      { numRuns: 300 },
    );
  });
});
