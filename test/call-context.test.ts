import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildCallContext, callProgressOf, CALL_CONTEXT_LIMITS, machineMessageOf, previewKeysOf } from '../src/domain/call-context.ts';
import { parseServiceOptions } from '../src/domain/service-options.ts';
import { commandDecoder } from '../src/voice/voice-contract.ts';

/** The context of a call as GES builds it from a callback and its service (pure), and the options behind it. */

const facts = (userData: Record<string, unknown> | null, more: object = {}) => ({ userData, priority: 0, ...more });
const dialWith = (context: object) => ({ type: 'dial', dialKey: 'cb:1', tenant: 'acme', queue: 'sales', phone: '+14155550100', context });

test('single_json (the default) packs the userData into GES_UserData; separate_keys attaches each key', () => {
  const userData = { orderId: 'A-1', basket: { items: 2 } };
  assert.deepEqual(buildCallContext(facts(userData), parseServiceOptions({})), { attachedData: { GES_UserData: JSON.stringify(userData) }, priority: 0 });
  assert.deepEqual(buildCallContext(facts(userData), parseServiceOptions({ attachUdata: 'separate_keys' })), { attachedData: userData, priority: 0 });
  assert.deepEqual(buildCallContext(facts(null), parseServiceOptions({})).attachedData, {}, 'no userData, nothing attached');
});

test("the callback's route point wins over the service's; language, priority, caller id, prefix, trunk group and preview keys", () => {
  const options = parseServiceOptions({
    routePoint: '7000@SW',
    callerIdNumber: '+18005550199',
    callerIdName: 'Acme',
    dialPrefix: '9',
    trunkGroup: 'tg-1',
    previewKeys: 'orderId,reason,orderId',
  });
  assert.deepEqual(buildCallContext(facts({}, { routePoint: '7100@SW', language: 'fr-FR', priority: 4 }), options), {
    attachedData: {},
    routePoint: '7100@SW',
    language: 'fr-FR',
    priority: 4,
    callerId: { number: '+18005550199', name: 'Acme' },
    dialPrefix: '9',
    trunkGroup: 'tg-1',
    previewKeys: ['orderId', 'reason'],
  });
  assert.equal(buildCallContext(facts({}), options).routePoint, '7000@SW');
  assert.deepEqual(buildCallContext(facts({}), parseServiceOptions({ callerIdName: 'Acme' })).callerId, { name: 'Acme' });
  assert.deepEqual(previewKeysOf(parseServiceOptions({})), []);
});

test('bounds: keys that do not fit are left out in order and the context says so; what is built always passes the contract', () => {
  for (const attachUdata of ['single_json', 'separate_keys'] as const) {
    const options = parseServiceOptions({ attachUdata });
    const big: Record<string, unknown> = {};
    for (let i = 0; i < 200; i += 1) big[`k${i}`] = `"quoted" ${i}`.padEnd(300, 'é');
    const context = buildCallContext(facts(big), options);
    assert.equal(context.truncated, true, attachUdata);
    const bytes = Buffer.byteLength(JSON.stringify(context.attachedData));
    assert.ok(bytes <= CALL_CONTEXT_LIMITS.attachedBytes, `${attachUdata}: ${bytes} bytes`);
    assert.ok(bytes > CALL_CONTEXT_LIMITS.attachedBytes - 700, `${attachUdata}: filled up to the bound (${bytes})`);
    const kept = attachUdata === 'single_json' ? Object.keys(JSON.parse(context.attachedData.GES_UserData as string)) : Object.keys(context.attachedData);
    assert.deepEqual(kept, Object.keys(big).slice(0, kept.length), 'the first keys');
    assert.ok(commandDecoder.check(dialWith(context)).ok, attachUdata);
  }
  // More keys than a platform takes, each small.
  const many = Object.fromEntries(Array.from({ length: 150 }, (_, i) => [`k${i}`, i]));
  const separate = buildCallContext(facts(many), parseServiceOptions({ attachUdata: 'separate_keys' }));
  assert.equal(Object.keys(separate.attachedData).length, CALL_CONTEXT_LIMITS.attachedKeys);
  assert.equal(separate.truncated, true);
  assert.ok(commandDecoder.check(dialWith(separate)).ok);
  // A key name too long for a platform is left out, the others stay.
  const long = buildCallContext(facts({ ['x'.repeat(129)]: 1, ok: 2 }), parseServiceOptions({ attachUdata: 'separate_keys' }));
  assert.deepEqual(long, { attachedData: { ok: 2 }, truncated: true, priority: 0 });
});

test('call progress: detection and the machine handling follow cpdEnable and onMachine; the message from its options', () => {
  assert.deepEqual(callProgressOf(parseServiceOptions({})), { detect: true, onMachine: 'hang_up' });
  assert.deepEqual(callProgressOf(parseServiceOptions({ onMachine: 'TREAT_AS_ANSWERED' })), { detect: true, onMachine: 'wait' });
  assert.deepEqual(callProgressOf(parseServiceOptions({ onMachine: 'LEAVE_MESSAGE', machineMessageId: 'p' })), { detect: true, onMachine: 'wait' });
  assert.deepEqual(callProgressOf(parseServiceOptions({ cpdEnable: false, onMachine: 'TREAT_AS_ANSWERED' })), { detect: false, onMachine: 'hang_up' });
  assert.deepEqual(machineMessageOf(parseServiceOptions({ onMachine: 'LEAVE_MESSAGE', machineMessageId: 'p', machineMessageText: 'Hi' })), {
    id: 'p',
    text: 'Hi',
  });
});

test('options: LEAVE_MESSAGE needs a message; caller id, prefix and preview keys have a written form', () => {
  assert.throws(() => parseServiceOptions({ onMachine: 'LEAVE_MESSAGE' }), /machineMessageId or machineMessageText/);
  assert.throws(() => parseServiceOptions({ onMachine: 'HANG_UP' }), /onMachine/);
  assert.throws(() => parseServiceOptions({ dialPrefix: '9a' }), /dialPrefix/);
  assert.throws(() => parseServiceOptions({ callerIdNumber: 'ACME' }), /callerIdNumber/);
  assert.throws(() => parseServiceOptions({ previewKeys: 'order id' }), /previewKeys/);
  assert.throws(() => parseServiceOptions({ attachUdata: 'gms_storage_id' }), /attachUdata/);
  assert.equal(parseServiceOptions({ cpdEnable: 'false' }).cpdEnable, false, 'converted like every boolean option');
});
