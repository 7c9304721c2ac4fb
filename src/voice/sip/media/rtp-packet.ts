/**
 * RTP packets (RFC 3550 section 5.1): the 12-byte fixed header, then the payload. Parsing skips
 * CSRCs and a header extension and strips padding, because the relay and the digit decoder need
 * only the header fields and the audio; anything that is not a well-formed RTP version 2 packet
 * gives undefined, so garbage on a media port is dropped rather than thrown on.
 */

export const RTP_HEADER_BYTES = 12;

export interface RtpPacket {
  readonly marker: boolean;
  readonly payloadType: number;
  readonly sequenceNumber: number;
  readonly timestamp: number;
  readonly ssrc: number;
  /** A view into the received buffer: copy it before keeping it past the message callback. */
  readonly payload: Uint8Array;
}

export interface RtpFields {
  marker?: boolean;
  payloadType: number;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
  payload: Uint8Array;
}

export function parseRtp(buf: Uint8Array): RtpPacket | undefined {
  if (buf.length < RTP_HEADER_BYTES) return undefined;
  const first = buf[0]!;
  if (first >> 6 !== 2) return undefined;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let offset = RTP_HEADER_BYTES + (first & 0x0f) * 4;
  if ((first & 0x10) !== 0) {
    if (buf.length < offset + 4) return undefined;
    offset += 4 + view.getUint16(offset + 2) * 4;
  }
  let end = buf.length;
  if ((first & 0x20) !== 0) {
    const padding = buf[buf.length - 1]!;
    if (padding === 0) return undefined;
    end -= padding;
  }
  if (end < offset) return undefined;
  const second = buf[1]!;
  return {
    marker: (second & 0x80) !== 0,
    payloadType: second & 0x7f,
    sequenceNumber: view.getUint16(2),
    timestamp: view.getUint32(4),
    ssrc: view.getUint32(8),
    payload: buf.subarray(offset, end),
  };
}

export function buildRtp(fields: RtpFields): Buffer {
  const buf = Buffer.allocUnsafe(RTP_HEADER_BYTES + fields.payload.length);
  buf[0] = 0x80;
  buf[1] = (fields.marker ? 0x80 : 0) | (fields.payloadType & 0x7f);
  buf.writeUInt16BE(fields.sequenceNumber & 0xffff, 2);
  buf.writeUInt32BE(fields.timestamp >>> 0, 4);
  buf.writeUInt32BE(fields.ssrc >>> 0, 8);
  buf.set(fields.payload, RTP_HEADER_BYTES);
  return buf;
}
