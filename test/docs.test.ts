import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ERRORS } from '../src/domain/errors.ts';
import { ConfigSchema } from '../src/config/config.ts';
import { configurationMarkdown } from '../src/config/config-doc.ts';
import { sipOutcomeTableMarkdown } from '../src/domain/sip-final-response.ts';

test('docs/ERRORS.md lists every error code with its HTTP status', () => {
  const doc = readFileSync(new URL('../docs/ERRORS.md', import.meta.url), 'utf8');
  const rows = new Map([...doc.matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1], Number(m[2])]));
  assert.deepEqual([...rows.keys()].sort(), Object.keys(ERRORS).sort());
  for (const [code, e] of Object.entries(ERRORS)) assert.equal(rows.get(code), e.http, code);
});

test('the README configuration table lists every setting', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const documented = new Set([...readme.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]));
  for (const name of Object.keys(ConfigSchema.properties)) assert.ok(documented.has(name), `${name} missing from README`);
});

test('docs/CONFIGURATION.md is the table generated from the configuration schema', () => {
  const doc = readFileSync(new URL('../docs/CONFIGURATION.md', import.meta.url), 'utf8');
  assert.equal(doc, configurationMarkdown(), 'run npm run docs:config');
});

test('docs/VOICE-SIP.md maps SIP answers to outcomes with the very table the adapter uses', () => {
  const doc = readFileSync(new URL('../docs/VOICE-SIP.md', import.meta.url), 'utf8');
  const table = /<!-- sip-outcome-table:start -->\n([\s\S]*?)\n<!-- sip-outcome-table:end -->/.exec(doc)?.[1];
  assert.equal(table?.trim(), sipOutcomeTableMarkdown().trim(), 'copy sipOutcomeTableMarkdown() into docs/VOICE-SIP.md');
});
