/**
 * ITU-T G.711 µ-law and A-law, the companding of the Sun reference implementation (g711.c): 16-bit
 * linear PCM in, one byte a sample out. Encoding goes through 64 K-entry tables and decoding and
 * transcoding through 256-entry ones, built once at load, because the media relay converts every
 * sample of every bridged call with mismatched codecs and a table lookup is the cheapest way.
 */
import type { Codec } from './codec.ts';

export type { Codec } from './codec.ts';

const MULAW_BIAS = 0x84;
const MULAW_CLIP = 32635;

function muLawOfSample(sample: number): number {
  const sign = (sample >> 8) & 0x80;
  let magnitude = sign !== 0 ? -sample : sample;
  if (magnitude > MULAW_CLIP) magnitude = MULAW_CLIP;
  magnitude += MULAW_BIAS;
  let exponent = 7;
  for (let mask = 0x4000; (magnitude & mask) === 0 && exponent > 0; mask >>= 1) exponent -= 1;
  const mantissa = (magnitude >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

function sampleOfMuLaw(byte: number): number {
  const u = ~byte & 0xff;
  const exponent = (u >> 4) & 0x07;
  const magnitude = ((((u & 0x0f) << 3) + MULAW_BIAS) << exponent) - MULAW_BIAS;
  return (u & 0x80) !== 0 ? -magnitude : magnitude;
}

/** Segment ends of the 13-bit A-law magnitude. */
const ALAW_SEGMENT_END = [0x1f, 0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff];

function aLawOfSample(sample: number): number {
  let value = sample >> 3;
  let mask: number;
  if (value >= 0) mask = 0xd5;
  else {
    mask = 0x55;
    value = -value - 1;
  }
  let segment = 0;
  while (segment < 8 && value > ALAW_SEGMENT_END[segment]!) segment += 1;
  if (segment >= 8) return 0x7f ^ mask;
  const quantised = segment < 2 ? (value >> 1) & 0x0f : (value >> segment) & 0x0f;
  return ((segment << 4) | quantised) ^ mask;
}

function sampleOfALaw(byte: number): number {
  const a = byte ^ 0x55;
  let magnitude = (a & 0x0f) << 4;
  const segment = (a & 0x70) >> 4;
  if (segment === 0) magnitude += 8;
  else magnitude = (magnitude + 0x108) << (segment - 1);
  return (a & 0x80) !== 0 ? magnitude : -magnitude;
}

function encodeTable(encode: (sample: number) => number): Uint8Array {
  const table = new Uint8Array(65536);
  for (let i = 0; i < 65536; i += 1) table[i] = encode(i - 32768);
  return table;
}

function decodeTable(decode: (byte: number) => number): Int16Array {
  const table = new Int16Array(256);
  for (let b = 0; b < 256; b += 1) table[b] = decode(b);
  return table;
}

const MULAW_ENCODE = encodeTable(muLawOfSample);
const ALAW_ENCODE = encodeTable(aLawOfSample);
const MULAW_DECODE = decodeTable(sampleOfMuLaw);
const ALAW_DECODE = decodeTable(sampleOfALaw);
const MULAW_TO_ALAW = Uint8Array.from(MULAW_DECODE, (s) => ALAW_ENCODE[s + 32768]!);
const ALAW_TO_MULAW = Uint8Array.from(ALAW_DECODE, (s) => MULAW_ENCODE[s + 32768]!);

/** The byte each codec sends for silence (linear 0). */
export const SILENCE: Readonly<Record<Codec, number>> = { PCMU: MULAW_ENCODE[32768]!, PCMA: ALAW_ENCODE[32768]! };

function encodeWith(table: Uint8Array, pcm: Int16Array): Uint8Array {
  const out = new Uint8Array(pcm.length);
  for (let i = 0; i < pcm.length; i += 1) out[i] = table[pcm[i]! + 32768]!;
  return out;
}

function decodeWith(table: Int16Array, bytes: Uint8Array): Int16Array {
  const out = new Int16Array(bytes.length);
  for (let i = 0; i < bytes.length; i += 1) out[i] = table[bytes[i]!]!;
  return out;
}

export function encodeMuLaw(pcm: Int16Array): Uint8Array {
  return encodeWith(MULAW_ENCODE, pcm);
}

export function decodeMuLaw(bytes: Uint8Array): Int16Array {
  return decodeWith(MULAW_DECODE, bytes);
}

export function encodeALaw(pcm: Int16Array): Uint8Array {
  return encodeWith(ALAW_ENCODE, pcm);
}

export function decodeALaw(bytes: Uint8Array): Int16Array {
  return decodeWith(ALAW_DECODE, bytes);
}

export function encode(pcm: Int16Array, codec: Codec): Uint8Array {
  return codec === 'PCMU' ? encodeMuLaw(pcm) : encodeALaw(pcm);
}

export function decode(bytes: Uint8Array, codec: Codec): Int16Array {
  return codec === 'PCMU' ? decodeMuLaw(bytes) : decodeALaw(bytes);
}

/**
 * Converts a G.711 payload from one law to the other through the linear value (decode, then encode
 * to the nearest level), one lookup a byte. The same codec gives a copy, so callers may always
 * write into the result.
 */
export function transcode(payload: Uint8Array, from: Codec, to: Codec): Uint8Array {
  const out = new Uint8Array(payload.length);
  transcodeInto(payload, from, to, out);
  return out;
}

/** transcode() into a buffer of the caller (the relay rewrites a packet copy in place). */
export function transcodeInto(payload: Uint8Array, from: Codec, to: Codec, out: Uint8Array): void {
  if (from === to) {
    out.set(payload);
    return;
  }
  const table = from === 'PCMU' ? MULAW_TO_ALAW : ALAW_TO_MULAW;
  for (let i = 0; i < payload.length; i += 1) out[i] = table[payload[i]!]!;
}
