/**
 * The two audio codecs the SIP adapter speaks: G.711 µ-law and A-law on their static RTP payload
 * types (RFC 3551). Every SIP phone and PBX offers at least one of them, and both carry 8 kHz audio
 * at one byte a sample, so a 20 ms frame is 160 bytes whichever is negotiated.
 */
export type Codec = 'PCMU' | 'PCMA';

export const STATIC_PAYLOAD_TYPE: Readonly<Record<Codec, number>> = { PCMU: 0, PCMA: 8 };

export const SAMPLE_RATE = 8000;
export const FRAME_MS = 20;
export const SAMPLES_PER_FRAME = (SAMPLE_RATE * FRAME_MS) / 1000;
