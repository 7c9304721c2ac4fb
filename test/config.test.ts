import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, ConfigError } from '../src/config/config.ts';

test('defaults, environment and secrets folders, frozen', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ges-secrets-'));
  writeFileSync(join(dir, 'DATABASE-URL'), 'postgres://from-secret/db\n');
  writeFileSync(join(dir, 'unrelated'), 'ignored');
  const config = loadConfig({ SECRETS_DIRS: dir, PORT: '8080' });
  assert.equal(config.PORT, 8080);
  assert.equal(config.INTERNAL_PORT, 3050);
  assert.equal(config.DATABASE_URL, 'postgres://from-secret/db');
  assert.ok(Object.isFrozen(config));
  assert.equal(
    loadConfig({ SECRETS_DIRS: dir, DATABASE_URL: 'postgres://env/db' }).DATABASE_URL,
    'postgres://env/db',
    'the environment wins over a secret file',
  );
  rmSync(dir, { recursive: true, force: true });
});

test('every invalid setting is reported by name at once', () => {
  try {
    loadConfig({ PORT: 'eighty', LOG_LEVEL: 'loud', MIGRATE_ON_START: 'maybe' });
    assert.fail('expected a ConfigError');
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    assert.deepEqual(err.problems.map((p) => p.split(':')[0]).sort(), ['LOG_LEVEL', 'MIGRATE_ON_START', 'PORT']);
  }
  assert.throws(() => loadConfig({ SECRETS_DIRS: '/nonexistent/ges' }), /SECRETS_DIRS/);
});
