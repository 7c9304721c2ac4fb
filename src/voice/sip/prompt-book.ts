/**
 * The audio GES plays on a leg: the customer's confirmation prompt, the agent's preview prompt and
 * the message left on a machine. A service names its prompt by id (its confirmPrompt option, its
 * machineMessageId); a file `<id>.wav` in SIP_PROMPT_DIR plays for it, anything else (no folder, no
 * such file, a text meant for text-to-speech, which GES does not have) plays the default prompt of
 * that kind shipped in assets/prompts. Files are read once and kept.
 */
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_PROMPT_DIR, loadPrompt, type Prompt } from './media/prompt.ts';

export type PromptKind = 'confirm' | 'preview' | 'message';

export interface PromptBook {
  prompt(kind: PromptKind, id?: string): Promise<Prompt>;
}

/** A prompt id that can name a file: no path separators, no dots up front. */
const PROMPT_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

export class FilePromptBook implements PromptBook {
  readonly #dir: string;
  readonly #cache = new Map<string, Promise<Prompt>>();

  constructor(promptDir: string) {
    this.#dir = promptDir;
  }

  async prompt(kind: PromptKind, id?: string): Promise<Prompt> {
    if (this.#dir !== '' && id !== undefined && PROMPT_ID.test(id)) {
      const path = join(this.#dir, `${id}.wav`);
      if (await exists(path)) return this.#load(path);
    }
    return this.#load(join(DEFAULT_PROMPT_DIR, `${kind}.wav`));
  }

  #load(path: string): Promise<Prompt> {
    let prompt = this.#cache.get(path);
    if (prompt === undefined) {
      prompt = loadPrompt(path);
      // A file that failed to load is tried again next time rather than failing forever.
      prompt.catch(() => this.#cache.delete(path));
      this.#cache.set(path, prompt);
    }
    return prompt;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
