import { promisify } from 'node:util';
import { deflateRaw, inflateRaw } from 'node:zlib';

const deflate = promisify(deflateRaw);
const inflate = promisify(inflateRaw);

/**
 * How userData is laid out on disk. Small objects (the usual case) stay in the callback row as
 * jsonb. Larger ones are deflated and cut into chunks of CHUNK_BYTES stored in callback_data, a
 * table whose chunk column is never TOASTed or recompressed.
 *
 * Why not plain jsonb and PostgreSQL's TOAST: TOAST cuts a value into 1,996-byte pieces, four to a
 * page, and the leftover piece of each value strands most of a page (measured about 1.2-1.3 bytes
 * per byte for 10 KB values); its pglz compression gives up on text without repeats. Deflate's
 * Huffman stage still saves about a sixth on random printable text and far more on real JSON, and a
 * CHUNK_BYTES chunk fills a page exactly, so only a value's last chunk shares a page.
 */

/** Largest chunk whose row still fits one 8 kB heap page (8,164-byte tuple limit minus row overhead). */
export const CHUNK_BYTES = 8100;
/** Serialised userData up to this size stays inline in the callback row. */
export const INLINE_LIMIT_BYTES = 1900;

export interface EncodedUserData {
  inline: string | null; // JSON text for the jsonb column
  chunks: Buffer[]; // non-empty when the data lives in callback_data
}

export async function encodeUserData(userData: Record<string, unknown> | undefined): Promise<EncodedUserData> {
  if (!userData) return { inline: null, chunks: [] };
  const json = JSON.stringify(userData);
  if (Buffer.byteLength(json, 'utf8') <= INLINE_LIMIT_BYTES) return { inline: json, chunks: [] };
  const packed = await deflate(Buffer.from(json, 'utf8'), { level: 6 });
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < packed.length; offset += CHUNK_BYTES) chunks.push(packed.subarray(offset, offset + CHUNK_BYTES));
  return { inline: null, chunks };
}

/** Reassembles chunks given in sequence order. */
export async function decodeUserData(chunks: Buffer[]): Promise<Record<string, unknown>> {
  return JSON.parse((await inflate(Buffer.concat(chunks))).toString('utf8')) as Record<string, unknown>;
}
