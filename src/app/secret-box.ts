import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * Seals tenants' secrets with AES-256-GCM under the node's key (TENANT_SECRET_KEY), so PostgreSQL
 * only ever holds ciphertext. Layout of a sealed value:
 *   [1 byte format 1][8 bytes key id][12 bytes nonce][16 bytes tag][ciphertext]
 * The key id (a digest of the key, not the key) says which key sealed it, so a node given a new key
 * and the previous one (TENANT_SECRET_KEY_PREVIOUS) still opens values sealed before the rotation.
 * The caller's context (tenant and secret name) is authenticated data: a value moved to another
 * tenant's row fails to open instead of serving that tenant someone else's secret.
 */

const FORMAT = 1;
const KEY_ID_BYTES = 8;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + KEY_ID_BYTES + NONCE_BYTES + TAG_BYTES;

/** Why a sealed value did not open; the message never contains key or value material. */
export class SecretOpenError extends Error {
  override name = 'SecretOpenError';
}

/**
 * A 32-byte key written as 64 hex digits or as base64 (44 characters with padding, 43 without).
 * Returns undefined for anything else, so configuration can say what is wrong without echoing it.
 */
export function parseSecretKey(text: string): Buffer | undefined {
  const t = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(t)) return Buffer.from(t, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(t)) {
    const key = Buffer.from(t.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    return key.length === 32 ? key : undefined;
  }
  return undefined;
}

/** A fresh key in the hex form parseSecretKey reads (embedded mode writes one to its data folder). */
export function newSecretKey(): string {
  return randomBytes(32).toString('hex');
}

function keyIdOf(key: Buffer): Buffer {
  return createHash('sha256').update('ges tenant secret key id\0').update(key).digest().subarray(0, KEY_ID_BYTES);
}

export class SecretBox {
  readonly #current: { key: Buffer; id: Buffer };
  readonly #byId = new Map<string, Buffer>();

  constructor(current: Buffer, previous: readonly Buffer[] = []) {
    for (const k of [current, ...previous]) if (k.length !== 32) throw new RangeError('a secret key must be 32 bytes');
    this.#current = { key: current, id: keyIdOf(current) };
    for (const k of [...previous, current]) this.#byId.set(keyIdOf(k).toString('hex'), k);
  }

  seal(plain: string, context: string): Buffer {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#current.key, nonce);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return Buffer.concat([Buffer.of(FORMAT), this.#current.id, nonce, cipher.getAuthTag(), body]);
  }

  open(sealed: Buffer, context: string): string {
    if (sealed.length < HEADER_BYTES || sealed[0] !== FORMAT) throw new SecretOpenError('not a sealed secret of a known format');
    const id = sealed.subarray(1, 1 + KEY_ID_BYTES);
    const key = this.#byId.get(id.toString('hex'));
    if (!key) throw new SecretOpenError('sealed under a key this node does not have (set TENANT_SECRET_KEY_PREVIOUS during a rotation)');
    const nonce = sealed.subarray(1 + KEY_ID_BYTES, 1 + KEY_ID_BYTES + NONCE_BYTES);
    const tag = sealed.subarray(1 + KEY_ID_BYTES + NONCE_BYTES, HEADER_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', key, nonce);
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(tag);
    try {
      return Buffer.concat([decipher.update(sealed.subarray(HEADER_BYTES)), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretOpenError('the sealed secret does not open: altered, or stored for another tenant or name');
    }
  }

  /** Whether a value was sealed under an older key (a rotation re-seals such values). */
  isStale(sealed: Buffer): boolean {
    return !sealed.subarray(1, 1 + KEY_ID_BYTES).equals(this.#current.id);
  }
}
