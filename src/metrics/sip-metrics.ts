import { Counter, type Registry } from 'prom-client';

/**
 * The SIP adapter's calls and media (VOICE_PLATFORM=sip): calls placed, answered and failed by leg
 * (customer, agent) and SIP status (or ring_timeout, transport, no_media, cancelled), RTP packets
 * relayed between bridged legs and lost on the way in (sequence gaps), and SIP requests refused
 * unanswered (network: not from SIP_ALLOWED_NETWORKS; flood: over SIP_FLOOD_REQUESTS_PER_SEC; auth:
 * a REGISTER that failed digest authentication). No tenant label: a flood has none, and the call
 * figures are the node's telephony health, not a tenant's traffic (ges_dial_outcomes_total is).
 */
export function sipMetrics(registry: Registry) {
  const placed = new Counter({ name: 'ges_sip_calls_placed_total', help: 'SIP calls placed, by leg', labelNames: ['leg'] as const, registers: [registry] });
  const answered = new Counter({
    name: 'ges_sip_calls_answered_total',
    help: 'SIP calls answered, by leg',
    labelNames: ['leg'] as const,
    registers: [registry],
  });
  const failed = new Counter({
    name: 'ges_sip_calls_failed_total',
    help: 'SIP calls that failed before an answer, by leg and SIP status (or ring_timeout, transport, no_media, cancelled)',
    labelNames: ['leg', 'code'] as const,
    registers: [registry],
  });
  const relayed = new Counter({ name: 'ges_rtp_packets_relayed_total', help: 'RTP packets relayed between bridged legs', registers: [registry] });
  const received = new Counter({ name: 'ges_rtp_packets_received_total', help: 'RTP packets received on call legs', registers: [registry] });
  const lost = new Counter({ name: 'ges_rtp_packets_lost_total', help: 'RTP packets lost on the way to GES (sequence gaps)', registers: [registry] });
  const refused = new Counter({
    name: 'ges_sip_requests_refused_total',
    help: 'SIP requests dropped or refused, by reason (network, flood, auth)',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  return {
    placed: (leg: string) => placed.inc({ leg }),
    answered: (leg: string) => answered.inc({ leg }),
    failed: (leg: string, code: string) => failed.inc({ leg, code }),
    closed: (_leg: string, stats: { packetsRelayed: number; packetsReceived: number; packetsLost: number }) => {
      relayed.inc(stats.packetsRelayed);
      received.inc(stats.packetsReceived);
      lost.inc(stats.packetsLost);
    },
    refused: (reason: 'network' | 'flood' | 'auth') => refused.inc({ reason }),
  };
}

export type SipMetrics = ReturnType<typeof sipMetrics>;
