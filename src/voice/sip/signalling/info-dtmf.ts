/**
 * Keys sent by SIP INFO (phones and PBXes that do not send RFC 4733 events in RTP): the
 * application/dtmf-relay body of Cisco and most PBXes, and the bare application/dtmf.
 */
const DTMF_SIGNALS = '0123456789*#ABCD';

/** The key of an INFO: application/dtmf-relay (`Signal=5`, `Signal=10` for *, 11 for #) or application/dtmf (the key itself). */
export function dtmfOfInfo(contentType: string, body: string): string | undefined {
  const type = contentType.split(';')[0]?.trim().toLowerCase();
  let signal: string | undefined;
  if (type === 'application/dtmf-relay') signal = /^\s*signal\s*=\s*(\S+)/im.exec(body)?.[1];
  else if (type === 'application/dtmf') signal = body.trim();
  if (signal === undefined) return undefined;
  const s = signal.toUpperCase();
  if (s === '10') return '*';
  if (s === '11') return '#';
  return s.length === 1 && DTMF_SIGNALS.includes(s) ? s : undefined;
}
