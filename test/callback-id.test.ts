import { test } from 'node:test';
import assert from 'node:assert/strict';
import { callbackIdFromHex, isCallbackId, newCallbackId } from '../src/domain/callback-id.ts';

test('a new callback id is a UUIDv7 that sorts by its creation time', () => {
  const early = newCallbackId(Date.UTC(2026, 0, 1));
  const late = newCallbackId(Date.UTC(2026, 0, 1) + 1);
  for (const id of [early, late]) {
    assert.ok(isCallbackId(id), id);
    assert.equal(id[14], '7', 'version 7');
    assert.match(id[19]!, /[89ab]/, 'RFC 9562 variant');
  }
  assert.ok(early < late);
});

test('isCallbackId accepts only the 8-4-4-4-12 hex form', () => {
  assert.ok(isCallbackId('0190A3B4-C5D6-7E8F-9012-3456789ABCDE'));
  for (const bad of ['', 'x', '0190a3b4c5d67e8f90123456789abcde', '0190a3b4-c5d6-7e8f-9012-3456789abcdg', ' 0190a3b4-c5d6-7e8f-9012-3456789abcde']) {
    assert.equal(isCallbackId(bad), false, JSON.stringify(bad));
  }
});

test('callbackIdFromHex puts the dashes of a UUID back into 32 hex digits', () => {
  const id = newCallbackId();
  assert.equal(callbackIdFromHex(id.replaceAll('-', '')), id);
  assert.equal(callbackIdFromHex('0'.repeat(32)), '00000000-0000-0000-0000-000000000000');
});
