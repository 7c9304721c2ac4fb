import { stdSerializers } from 'pino';

/**
 * The `err` serializer of every log line. A PostgreSQL error quotes the values it choked on: its
 * `detail`, `where`, `hint` and even its message ("invalid input syntax for type json", with the
 * JSON line holding the customer's userData; "Key (phone)=(+1415...) already exists") can carry
 * user data and phone numbers in full. So for a database error only what names the failure is
 * kept: SQLSTATE code, severity, routine and the schema objects involved, plus the message with
 * every quoted or parenthesised part blanked. The same holds for an error that carries a database
 * error as its `cause` (or among an AggregateError's `errors`): pino's standard form would append the
 * cause's message. Other errors keep pino's standard form.
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

/** How deep a chain of `cause`s (and AggregateError `errors`) is followed. */
const MAX_CHAIN_DEPTH = 8;

/** Errors an error carries: its `cause`, and an AggregateError's `errors`. */
function carried(err: Error): unknown[] {
  const out: unknown[] = [];
  if ('cause' in err) out.push(err.cause);
  if (err instanceof AggregateError && Array.isArray(err.errors)) out.push(...(err.errors as unknown[]));
  return out;
}

/** Whether a database error is this error or anywhere among the errors it carries. */
function carriesDatabaseError(err: unknown, depth = 0): boolean {
  if (isDatabaseError(err)) return true;
  if (!(err instanceof Error) || depth >= MAX_CHAIN_DEPTH) return false;
  return carried(err).some((e) => carriesDatabaseError(e, depth + 1));
}

/** The stack's frames without its first line, which repeats the message. */
const framesOf = (err: Error): string | undefined => (typeof err.stack === 'string' ? err.stack.split('\n').slice(1).join('\n') : undefined);

function scrubbed(err: unknown, depth: number): unknown {
  if (isDatabaseError(err)) {
    const out: Serialized = { type: 'DatabaseError', message: scrubDatabaseMessage(err.message) };
    for (const field of SAFE_DB_FIELDS) if (typeof err[field] === 'string') out[field] = err[field];
    const stack = framesOf(err);
    if (stack !== undefined) out.stack = stack;
    return out;
  }
  if (!(err instanceof Error)) return typeof err === 'string' ? scrubDatabaseMessage(err) : undefined;
  // An error wrapping a database error may repeat its message ("could not save: invalid input
  // syntax for type json …"), and pino's standard form appends every cause's message: so the
  // wrapper is scrubbed the same way and each carried error is serialized by these rules.
  const out: Serialized = { type: err.name, message: scrubDatabaseMessage(err.message) };
  const stack = framesOf(err);
  if (stack !== undefined) out.stack = stack;
  if (depth < MAX_CHAIN_DEPTH) {
    if ('cause' in err) out.cause = scrubbed(err.cause, depth + 1);
    if (err instanceof AggregateError && Array.isArray(err.errors)) out.errors = (err.errors as unknown[]).map((e) => scrubbed(e, depth + 1));
  }
  return out;
}

export function serializeError(err: unknown): unknown {
  if (!carriesDatabaseError(err)) return err instanceof Error ? stdSerializers.err(err) : err;
  return scrubbed(err, 0);
}
