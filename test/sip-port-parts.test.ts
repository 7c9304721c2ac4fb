import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { Registry } from 'prom-client';
import { FilePromptBook } from '../src/voice/sip/prompt-book.ts';
import { DEFAULT_PROMPT_DIR, loadPrompt, wavOfPcm } from '../src/voice/sip/media/prompt.ts';
import { customerUri } from '../src/voice/sip/customer-uri.ts';
import { sipMetrics } from '../src/metrics/sip-metrics.ts';
import { tempDir } from './support/sip-peers.ts';

/**
 * The small parts of the SIP adapter that the call-flow tests use without looking at: which prompt
 * file plays for a service's prompt id, how a customer's number becomes a request URI, and that the
 * adapter's observer moves the metrics docs/METRICS.md names.
 */

test("prompts: a service's prompt id plays <id>.wav from SIP_PROMPT_DIR; anything else, the shipped default of its kind", async (t) => {
  const dir = await tempDir('ges-prompts-');
  t.after(() => dir.remove());
  // 0.5 s of a custom confirmation, told apart from the default by its length.
  await writeFile(`${dir.path}/sales-confirm.wav`, wavOfPcm(new Int16Array(4000).fill(1000)));
  const book = new FilePromptBook(dir.path);
  const defaultConfirm = await loadPrompt(`${DEFAULT_PROMPT_DIR}/confirm.wav`);
  assert.equal((await book.prompt('confirm', 'sales-confirm')).durationMs, 500);
  // No such file, a text meant for text-to-speech, a path: the default plays.
  for (const id of ['other', 'Press 1 to talk to an agent', '../etc/passwd', undefined])
    assert.equal((await book.prompt('confirm', id)).durationMs, defaultConfirm.durationMs, String(id));
  // Without a folder, every kind plays its default.
  const none = new FilePromptBook('');
  for (const kind of ['confirm', 'preview', 'message'] as const) assert.ok((await none.prompt(kind, 'sales-confirm')).durationMs > 1000, kind);
  // Read once, then kept.
  assert.equal(await book.prompt('confirm', 'sales-confirm'), await book.prompt('confirm', 'sales-confirm'));
});

test("customer URI: the number without '+', with it, and the service's dial-out prefix", () => {
  assert.equal(customerUri('sip:{prefix}{number}@trunk.example.net;user=phone', '+14155550100', '9'), 'sip:914155550100@trunk.example.net;user=phone');
  assert.equal(customerUri('sip:{e164}@127.0.0.1:5080', '+14155550100', undefined), 'sip:+14155550100@127.0.0.1:5080');
  assert.equal(customerUri('sip:{prefix}{number}@h', '+4420794600', undefined), 'sip:4420794600@h');
});

test('SIP metrics: calls placed, answered and failed by leg and code; RTP received, relayed and lost; refused requests by reason', async () => {
  const registry = new Registry();
  const m = sipMetrics(registry);
  m.placed('customer');
  m.placed('agent');
  m.answered('customer');
  m.failed('agent', '480');
  m.closed('customer', { packetsReceived: 500, packetsRelayed: 498, packetsLost: 2 });
  m.refused('flood');
  m.refused('network');
  const text = await registry.metrics();
  for (const line of [
    'ges_sip_calls_placed_total{leg="customer"} 1',
    'ges_sip_calls_placed_total{leg="agent"} 1',
    'ges_sip_calls_answered_total{leg="customer"} 1',
    'ges_sip_calls_failed_total{leg="agent",code="480"} 1',
    'ges_rtp_packets_received_total 500',
    'ges_rtp_packets_relayed_total 498',
    'ges_rtp_packets_lost_total 2',
    'ges_sip_requests_refused_total{reason="flood"} 1',
    'ges_sip_requests_refused_total{reason="network"} 1',
  ])
    assert.ok(text.includes(line), line);
});
