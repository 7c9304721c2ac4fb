import { isIPv4, isIPv6 } from 'node:net';

/**
 * SIP_ALLOWED_NETWORKS as a predicate on a source address. Port 5060 on a public address is
 * scanned all day; a packet from outside the trunk, PBX and agents' networks is dropped before it
 * is parsed, so a scanner costs a comparison and never a parse, a transaction or an answer that
 * would confirm a SIP server is there.
 */

interface Network {
  readonly bits: bigint;
  readonly mask: bigint;
  readonly v6: boolean;
}

/** Parses `127.0.0.0/8,10.0.0.0/8,::1/128` (a bare address is a /32 or /128); throws on a malformed entry so a typo fails at startup, not silently. */
export function parseNetworks(list: string): (address: string) => boolean {
  const networks = list
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(parseNetwork);
  return (address: string) => {
    const parsed = addressBits(address);
    if (parsed === undefined) return false;
    return networks.some((n) => n.v6 === parsed.v6 && (parsed.bits & n.mask) === n.bits);
  };
}

function parseNetwork(entry: string): Network {
  const [addr = '', prefixText] = entry.split('/');
  const parsed = addressBits(addr);
  if (parsed === undefined) throw new Error(`not a network: ${entry}`);
  const width = parsed.v6 ? 128 : 32;
  const prefix = prefixText === undefined ? width : Number(prefixText);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > width || (prefixText !== undefined && !/^\d+$/.test(prefixText)))
    throw new Error(`bad prefix length: ${entry}`);
  const all = (1n << BigInt(width)) - 1n;
  const mask = prefix === 0 ? 0n : (all << BigInt(width - prefix)) & all;
  return { bits: parsed.bits & mask, mask, v6: parsed.v6 };
}

/** An address as an integer; an IPv4-mapped IPv6 address (::ffff:a.b.c.d, what a dual-stack socket reports) counts as the IPv4 address. */
function addressBits(address: string): { bits: bigint; v6: boolean } | undefined {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1] !== undefined) return addressBits(mapped[1]);
  if (isIPv4(address)) {
    return { bits: address.split('.').reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n), v6: false };
  }
  if (isIPv6(address)) return { bits: ipv6Bits(address.replace(/%.*$/, '')), v6: true };
  return undefined;
}

function ipv6Bits(address: string): bigint {
  let text = address;
  // A trailing dotted quad (::ffff:1.2.3.4 outside the mapped form, ::1.2.3.4) is two groups.
  const quad = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (quad) {
    const [a, b, c, d] = quad.slice(1).map(Number) as [number, number, number, number];
    text = text.slice(0, quad.index) + ((a << 8) | b).toString(16) + ':' + ((c << 8) | d).toString(16);
  }
  const [head = '', tail] = text.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const missing = 8 - headGroups.length - tailGroups.length;
  const groups = tail === undefined ? headGroups : [...headGroups, ...Array<string>(missing).fill('0'), ...tailGroups];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}
