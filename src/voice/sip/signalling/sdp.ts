/**
 * The SDP GES offers and answers (RFC 4566, RFC 3264 offer/answer): one audio stream, G.711
 * (PCMU 0, PCMA 8: what every trunk and softphone speaks, and what the media layer transcodes
 * between) and RFC 4733 telephone-event for the customer's and agent's keys.
 */
export type Codec = 'PCMU' | 'PCMA';

/** Same shape as media's RtpRemote (structural), kept here so signalling does not depend on the media files. */
export interface SdpRemote {
  address: string;
  port: number;
  codec: Codec;
  payloadType: number;
  eventPayloadType?: number;
}

const STATIC_PT: Record<Codec, number> = { PCMU: 0, PCMA: 8 };

export interface SdpOffer {
  address: string;
  port: number;
  codecs: readonly Codec[];
  /** Payload type of telephone-event (101 by habit); undefined: not offered. */
  telephoneEvent: number | undefined;
  /** o= session id, stable for the call; the version is bumped by the caller when the SDP changes. */
  sessionId: string | number;
  version?: number;
}

export function buildSdp(o: SdpOffer): string {
  const ip = o.address.includes(':') ? 'IP6' : 'IP4';
  const pts = o.codecs.map((c) => STATIC_PT[c]);
  if (o.telephoneEvent !== undefined) pts.push(o.telephoneEvent);
  const lines = [
    'v=0',
    `o=ges ${o.sessionId} ${o.version ?? 1} IN ${ip} ${o.address}`,
    's=GES',
    `c=IN ${ip} ${o.address}`,
    't=0 0',
    `m=audio ${o.port} RTP/AVP ${pts.join(' ')}`,
    ...o.codecs.map((c) => `a=rtpmap:${STATIC_PT[c]} ${c}/8000`),
  ];
  if (o.telephoneEvent !== undefined) lines.push(`a=rtpmap:${o.telephoneEvent} telephone-event/8000`, `a=fmtp:${o.telephoneEvent} 0-16`);
  lines.push('a=ptime:20', 'a=sendrecv');
  return lines.join('\r\n') + '\r\n';
}

/**
 * What to send to, from the other side's SDP: the first audio stream with a port, its first
 * payload type that is one of `ours` (the other side's preference order wins, RFC 3264 6.1), and
 * its telephone-event payload type. Undefined: nothing in common (the call is refused with 488).
 */
export function negotiate(remoteSdp: string, ours: readonly Codec[]): SdpRemote | undefined {
  const lines = remoteSdp.split(/\r?\n/).map((l) => l.trim());
  let sessionAddress: string | undefined;
  let media: { port: number; pts: number[]; address?: string; rtpmap: Map<number, string> } | undefined;
  let found: typeof media;
  for (const line of lines) {
    if (line.startsWith('m=')) {
      if (found === undefined && media !== undefined) found = media;
      const m = /^m=(\w+) (\d+)(?:\/\d+)? (\S+) ([\d ]+)$/.exec(line);
      media =
        m && m[1] === 'audio' && Number(m[2]) > 0 ? { port: Number(m[2]), pts: (m[4] ?? '').trim().split(/\s+/).map(Number), rtpmap: new Map() } : undefined;
      continue;
    }
    const c = /^c=IN IP[46] ([^\s/]+)/.exec(line);
    if (c?.[1] !== undefined) {
      if (media !== undefined) media.address = c[1];
      else if (found === undefined) sessionAddress = c[1];
      continue;
    }
    const r = /^a=rtpmap:(\d+) ([^/\s]+)/.exec(line);
    if (r?.[1] !== undefined && r[2] !== undefined && media !== undefined) media.rtpmap.set(Number(r[1]), r[2].toLowerCase());
  }
  const stream = found ?? media;
  if (stream === undefined) return undefined;
  const address = stream.address ?? sessionAddress;
  if (address === undefined) return undefined;
  const nameOf = (pt: number): string | undefined => stream.rtpmap.get(pt) ?? (pt === 0 ? 'pcmu' : pt === 8 ? 'pcma' : undefined);
  for (const pt of stream.pts) {
    const name = nameOf(pt)?.toUpperCase();
    const codec = ours.find((c) => c === name);
    if (codec !== undefined) {
      const event = stream.pts.find((p) => nameOf(p) === 'telephone-event');
      return { address, port: stream.port, codec, payloadType: pt, ...(event !== undefined ? { eventPayloadType: event } : {}) };
    }
  }
  return undefined;
}
