/**
 * Announcements played into a call (confirm, preview, machine message), read from WAV files.
 * Only what a G.711 call can carry without resampling is accepted: 8 kHz mono, linear PCM16 or
 * G.711 itself (format 7 µ-law, 6 A-law); anything else fails at load with a message naming the
 * file and what is wrong, so a bad prompt stops the node at start and not in the middle of a call.
 * The 20 ms frames are cut once per codec and kept, since every call plays the same few prompts.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Codec, SAMPLE_RATE, SAMPLES_PER_FRAME } from './codec.ts';
import { encode, SILENCE, transcode } from './g711.ts';

/**
 * <repo>/assets/prompts: this file is src/voice/sip/media/prompt.ts or dist/voice/sip/media/prompt.js,
 * both four levels below the root, and the image ships assets/ beside dist/.
 */
export const DEFAULT_PROMPT_DIR = fileURLToPath(new URL('../../../../assets/prompts/', import.meta.url));

export interface Prompt {
  readonly durationMs: number;
  /** 160-byte 20 ms frames in the codec, the last one padded with silence. Do not modify them. */
  frames(codec: Codec): Uint8Array[];
}

const WAVE_FORMAT_PCM = 1;
const WAVE_FORMAT_ALAW = 6;
const WAVE_FORMAT_MULAW = 7;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;

type Samples = { kind: 'pcm'; pcm: Int16Array } | { kind: Codec; bytes: Uint8Array };

class FramedPrompt implements Prompt {
  readonly durationMs: number;
  readonly #samples: Samples;
  readonly #frames = new Map<Codec, Uint8Array[]>();

  constructor(samples: Samples) {
    this.#samples = samples;
    const count = samples.kind === 'pcm' ? samples.pcm.length : samples.bytes.length;
    this.durationMs = (count * 1000) / SAMPLE_RATE;
  }

  frames(codec: Codec): Uint8Array[] {
    let frames = this.#frames.get(codec);
    if (frames === undefined) {
      frames = cut(this.#encoded(codec), codec);
      this.#frames.set(codec, frames);
    }
    return frames;
  }

  #encoded(codec: Codec): Uint8Array {
    const s = this.#samples;
    if (s.kind === 'pcm') return encode(s.pcm, codec);
    return s.kind === codec ? s.bytes : transcode(s.bytes, s.kind, codec);
  }
}

function cut(bytes: Uint8Array, codec: Codec): Uint8Array[] {
  const frames: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += SAMPLES_PER_FRAME) {
    const frame = new Uint8Array(SAMPLES_PER_FRAME).fill(SILENCE[codec]);
    frame.set(bytes.subarray(at, Math.min(at + SAMPLES_PER_FRAME, bytes.length)));
    frames.push(frame);
  }
  return frames;
}

/** A prompt from 8 kHz linear samples (tests, benchmarks, synthesised tones). */
export function promptOfPcm(pcm: Int16Array): Prompt {
  return new FramedPrompt({ kind: 'pcm', pcm });
}

export async function loadPrompt(path: string): Promise<Prompt> {
  return parseWav(await readFile(path), path);
}

/** The announcements the SIP call flows play, one WAV each in the prompt directory. */
export const PROMPT_NAMES = ['confirm', 'preview', 'message'] as const;
export type PromptName = (typeof PROMPT_NAMES)[number];

/** Loads every prompt of PROMPT_NAMES from `dir` (`<name>.wav`), at start, so a missing or bad file stops the node there. */
export async function loadPrompts(dir: string = DEFAULT_PROMPT_DIR): Promise<Record<PromptName, Prompt>> {
  const loaded = await Promise.all(PROMPT_NAMES.map((name) => loadPrompt(join(dir, `${name}.wav`))));
  return Object.fromEntries(PROMPT_NAMES.map((name, i) => [name, loaded[i]!])) as Record<PromptName, Prompt>;
}

/** Parses a WAV file's bytes; `name` only goes into error messages. */
export function parseWav(buf: Buffer, name = 'WAV'): Prompt {
  const fail = (why: string): never => {
    throw new Error(`prompt ${name}: ${why} (need an 8 kHz mono WAV: PCM 16-bit, or G.711 µ-law/A-law)`);
  };
  if (buf.length < 12 || buf.toString('latin1', 0, 4) !== 'RIFF' || buf.toString('latin1', 8, 12) !== 'WAVE') return fail('not a RIFF/WAVE file');
  let format: { tag: number; channels: number; rate: number; bits: number } | undefined;
  let data: Buffer | undefined;
  // Chunks are word aligned: an odd-sized chunk is followed by a pad byte (LIST, fact, cue ... skipped).
  for (let at = 12; at + 8 <= buf.length;) {
    const id = buf.toString('latin1', at, at + 4);
    const size = buf.readUInt32LE(at + 4);
    const body = buf.subarray(at + 8, Math.min(at + 8 + size, buf.length));
    if (id === 'fmt ') {
      if (body.length < 16) return fail('fmt chunk too short');
      let tag = body.readUInt16LE(0);
      // WAVE_FORMAT_EXTENSIBLE names the real format in the first two bytes of its sub-format GUID.
      if (tag === WAVE_FORMAT_EXTENSIBLE && body.length >= 26) tag = body.readUInt16LE(24);
      format = { tag, channels: body.readUInt16LE(2), rate: body.readUInt32LE(4), bits: body.readUInt16LE(14) };
    } else if (id === 'data') {
      data = body;
      if (body.length < size) return fail('data chunk truncated');
    }
    at += 8 + size + (size & 1);
  }
  if (format === undefined) return fail('no fmt chunk');
  if (data === undefined) return fail('no data chunk');
  if (format.channels !== 1) return fail(`${format.channels} channels`);
  if (format.rate !== SAMPLE_RATE) return fail(`${format.rate} Hz`);
  if (format.tag === WAVE_FORMAT_PCM) {
    if (format.bits !== 16) return fail(`PCM with ${format.bits} bits per sample`);
    const pcm = new Int16Array(data.length >> 1);
    for (let i = 0; i < pcm.length; i += 1) pcm[i] = data.readInt16LE(i * 2);
    return new FramedPrompt({ kind: 'pcm', pcm });
  }
  if (format.tag === WAVE_FORMAT_MULAW || format.tag === WAVE_FORMAT_ALAW) {
    if (format.bits !== 8) return fail(`G.711 with ${format.bits} bits per sample`);
    return new FramedPrompt({ kind: format.tag === WAVE_FORMAT_MULAW ? 'PCMU' : 'PCMA', bytes: Uint8Array.from(data) });
  }
  return fail(`format tag ${format.tag}`);
}

/** Writes 8 kHz mono PCM16 samples as a WAV file's bytes (the prompt script and tests). */
export function wavOfPcm(pcm: Int16Array): Buffer {
  const buf = Buffer.alloc(44 + pcm.length * 2);
  buf.write('RIFF', 0, 'latin1');
  buf.writeUInt32LE(36 + pcm.length * 2, 4);
  buf.write('WAVEfmt ', 8, 'latin1');
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(WAVE_FORMAT_PCM, 20);
  buf.writeUInt16LE(1, 22);
  buf.writeUInt32LE(SAMPLE_RATE, 24);
  buf.writeUInt32LE(SAMPLE_RATE * 2, 28);
  buf.writeUInt16LE(2, 32);
  buf.writeUInt16LE(16, 34);
  buf.write('data', 36, 'latin1');
  buf.writeUInt32LE(pcm.length * 2, 40);
  for (let i = 0; i < pcm.length; i += 1) buf.writeInt16LE(pcm[i]!, 44 + i * 2);
  return buf;
}
