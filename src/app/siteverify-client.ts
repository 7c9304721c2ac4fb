import { readSiteverifyAnswer, type SiteverifyAnswer } from '../domain/captcha/siteverify-verdict.ts';

/** A siteverify answer is a few hundred bytes; anything past this is not one. */
export const MAX_ANSWER_BYTES = 16 * 1024;
/** A create waits this long for the provider at most (connect, answer and body together). */
export const DEFAULT_VERIFY_TIMEOUT_MS = 3000;

export type SiteverifyOutcome = { kind: 'answered'; answer: SiteverifyAnswer } | { kind: 'unreachable'; why: string };

export interface SiteverifyRequest {
  verifyUrl: string;
  secret: string;
  token: string;
  remoteIp?: string;
}

/** Asks a siteverify endpoint about a token; never throws, never logs (the token and the secret are in the request). */
export interface SiteverifyClient {
  verify(request: SiteverifyRequest): Promise<SiteverifyOutcome>;
}

/**
 * The siteverify protocol over fetch: a form POST of `secret`, `response` and optional `remoteip`,
 * answered with JSON. Bounded: one timeout covers the whole exchange, the answer is read up to
 * MAX_ANSWER_BYTES, redirects are not followed (they would carry the secret elsewhere). Anything
 * but a 2xx JSON siteverify answer is "unreachable": the provider's trouble, not the token's.
 */
export class FetchSiteverifyClient implements SiteverifyClient {
  constructor(private readonly timeoutMs: number = DEFAULT_VERIFY_TIMEOUT_MS) {}

  async verify(request: SiteverifyRequest): Promise<SiteverifyOutcome> {
    const form = new URLSearchParams({ secret: request.secret, response: request.token });
    if (request.remoteIp) form.set('remoteip', request.remoteIp);
    const signal = AbortSignal.timeout(this.timeoutMs);
    try {
      const res = await fetch(request.verifyUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: form,
        redirect: 'error',
        signal,
      });
      if (res.status < 200 || res.status > 299) {
        await res.body?.cancel().catch(() => undefined);
        return { kind: 'unreachable', why: `HTTP ${res.status}` };
      }
      const text = await readBounded(res, MAX_ANSWER_BYTES);
      if (text === undefined) return { kind: 'unreachable', why: `answer longer than ${MAX_ANSWER_BYTES} bytes` };
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        return { kind: 'unreachable', why: 'answer is not JSON' };
      }
      const answer = readSiteverifyAnswer(json);
      return answer ? { kind: 'answered', answer } : { kind: 'unreachable', why: 'answer is not a siteverify answer' };
    } catch (err) {
      // The error's message may quote the URL but never the body (token, secret).
      return { kind: 'unreachable', why: signal.aborted ? `no answer within ${this.timeoutMs} ms` : `request failed (${(err as Error).name})` };
    }
  }
}

async function readBounded(res: Response, max: number): Promise<string | undefined> {
  const declared = Number(res.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > max) {
    await res.body?.cancel().catch(() => undefined);
    return undefined;
  }
  if (!res.body) return '';
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
