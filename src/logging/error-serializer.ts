import { stdSerializers } from 'pino';

/**
 * The `err` serializer of every log line. A PostgreSQL error quotes the values it choked on: its
 * `detail`, `where`, `hint` and even its message ("invalid input syntax for type json", with the
 * JSON line holding the customer's userData; "Key (phone)=(+1415...) already exists") can carry
 * user data and phone numbers in full. So for a database error only what names the failure is
 * kept: SQLSTATE code, severity, routine and the schema objects involved, plus the message with
 * every quoted or parenthesised part blanked. Other errors keep pino's standard form.
 */

type Serialized = Record<string, unknown>;

/** Fields of a pg DatabaseError that name schema objects or the server's code path, never values. */
const SAFE_DB_FIELDS = ['code', 'severity', 'routine', 'schema', 'table', 'column', 'constraint', 'dataType'] as const;

/** A pg DatabaseError (or one wrapped by us): a five-character SQLSTATE plus a severity. */
export function isDatabaseError(err: unknown): err is Error & Record<string, unknown> {
  if (!(err instanceof Error)) return false;
  const e = err as unknown as Record<string, unknown>;
  return typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) && typeof e.severity === 'string';
}

/** The message with quoted values and parenthesised key values replaced by "…". */
export function scrubDatabaseMessage(message: string): string {
  return message
    .replace(/"(?:[^"\\]|\\.)*"/g, '"…"')
    .replace(/'(?:[^'\\]|\\.)*'/g, "'…'")
    .replace(/\((?:[^()]|\([^()]*\))*\)/g, '(…)')
    .replace(/(line \d+:).*/s, '$1 …')
    .slice(0, 200);
}

export function serializeError(err: unknown): unknown {
  if (!isDatabaseError(err)) return err instanceof Error ? stdSerializers.err(err) : err;
  const out: Serialized = { type: 'DatabaseError', message: scrubDatabaseMessage(err.message) };
  for (const field of SAFE_DB_FIELDS) if (typeof err[field] === 'string') out[field] = err[field];
  // The stack's first line repeats the message; the frames below it are code locations only.
  if (typeof err.stack === 'string') out.stack = err.stack.split('\n').slice(1).join('\n');
  return out;
}
