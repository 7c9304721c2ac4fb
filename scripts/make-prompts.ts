/**
 * Generates the SIP adapter's announcements in assets/prompts/ (8 kHz mono 16-bit PCM WAV, what a
 * G.711 call carries without resampling). Run: `npm run prompts`; the WAVs are committed, so the
 * node never needs a speech synthesiser, and this script only runs again when a text changes.
 *
 * With espeak-ng and sox on the PATH (Debian: `apt-get install -y espeak-ng sox`) the text is
 * spoken by espeak-ng, voice en-us at 150 words a minute, and sox resamples it to 8 kHz,
 * normalises to -3 dBFS and writes it without dither so that the same tools give the same bytes.
 * The committed files were made with eSpeak NG 1.51 and SoX v14.4.2 (Debian bookworm).
 * Without them the script falls back to a deterministic synthesis in Node (one tone burst a word,
 * no speech): enough for tests and a lab, not for customers; it says so on stdout.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_PROMPT_DIR, loadPrompt, type PromptName, wavOfPcm } from '../src/voice/sip/media/prompt.ts';

const PROMPTS: Record<PromptName, string> = {
  confirm: 'Press 1 to speak to an agent now, or any other key if this is not a good time.',
  preview: 'A callback for you. Press 1 to take it, or 2 to refuse.',
  message: 'We called you back, and will try again.',
};

const VOICE = 'en-us';
const WORDS_PER_MINUTE = 150;

function has(tool: string): boolean {
  return spawnSync(tool, ['--version'], { stdio: 'ignore' }).status === 0;
}

function run(tool: string, args: string[]): void {
  const result = spawnSync(tool, args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${tool} ${args.join(' ')} failed: ${result.stderr || result.error?.message}`);
}

function speak(text: string, out: string, scratch: string): void {
  const raw = join(scratch, 'speech.wav');
  run('espeak-ng', ['-v', VOICE, '-s', String(WORDS_PER_MINUTE), '-w', raw, text]);
  run('sox', ['-D', raw, '-r', '8000', '-c', '1', '-b', '16', '-e', 'signed-integer', out, 'gain', '-n', '-3']);
}

/** One 120 ms tone a word, its pitch from the word's letters, 60 ms apart: deterministic, not speech. */
function synthesise(text: string): Int16Array {
  const words = text.split(/\s+/).filter((w) => w !== '');
  const rate = 8000;
  const pcm = new Int16Array(words.length * Math.round(0.18 * rate) + rate / 2);
  let at = rate / 4;
  for (const word of words) {
    const pitch = 300 + ([...word].reduce((sum, c) => sum + c.charCodeAt(0), 0) % 500);
    const length = Math.round(0.12 * rate);
    for (let i = 0; i < length; i += 1) {
      const envelope = Math.min(1, i / 80, (length - i) / 80);
      pcm[at + i] = Math.round(8000 * envelope * Math.sin((2 * Math.PI * pitch * i) / rate));
    }
    at += Math.round(0.18 * rate);
  }
  return pcm;
}

const tts = has('espeak-ng') && has('sox');
if (!tts) console.log('espeak-ng or sox missing: writing synthesised tone prompts (no speech)');
const scratch = mkdtempSync(join(tmpdir(), 'ges-prompts-'));
try {
  for (const [name, text] of Object.entries(PROMPTS)) {
    const out = join(DEFAULT_PROMPT_DIR, `${name}.wav`);
    if (tts) speak(text, out, scratch);
    else writeFileSync(out, wavOfPcm(synthesise(text)));
    // Read back with the loader the adapter uses, so a file it would refuse is never committed.
    const prompt = await loadPrompt(out);
    console.log(`${name}.wav  ${(prompt.durationMs / 1000).toFixed(2)} s  ${JSON.stringify(text)}`);
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
