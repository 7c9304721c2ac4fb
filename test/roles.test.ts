import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isRole, parseRole } from '../src/domain/roles.ts';

test('a role is parsed whatever its case, and only the four roles are', () => {
  assert.equal(parseRole(' supervisor '), 'SUPERVISOR');
  assert.equal(parseRole('Administrator'), 'ADMINISTRATOR');
  assert.equal(parseRole('root'), undefined);
  assert.equal(isRole('supervisor'), false, 'a stored role is always upper case');
});
