import { test } from 'node:test';
import assert from 'node:assert/strict';
import { listMigrations } from '../src/store/migrator.ts';
import { WAITING_INDEX_PREDICATE } from '../src/store/waiting-index.ts';

/** Lower case, single spaces, no space inside parentheses: formatting never decides the comparison. */
const normalize = (sql: string) => sql.toLowerCase().replace(/\s+/g, ' ').replace(/\( /g, '(').replace(/ \)/g, ')').trim();

test('the waiting-callbacks predicate is the one the migrations give the callback_waiting index', () => {
  // The last migration that (re)creates the index decides what Postgres has.
  const definitions = listMigrations().flatMap((m) =>
    [...m.sql.matchAll(/CREATE\s+INDEX\s+(?:IF\s+NOT\s+EXISTS\s+)?callback_waiting\s+ON\s+callback\s*\([^)]*\)\s+WHERE\s+([^;]+);/gi)].map((match) => ({
      migration: m.name,
      predicate: match[1]!,
    })),
  );
  assert.ok(definitions.length > 0, 'a migration creates callback_waiting');
  const last = definitions.at(-1)!;
  assert.equal(normalize(WAITING_INDEX_PREDICATE), normalize(last.predicate), `src/store/waiting-index.ts against ${last.migration}`);
});
