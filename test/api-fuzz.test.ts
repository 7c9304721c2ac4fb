import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { buildTestApi, createTestDb, createTestTenant, type TestDb, type TestTenant } from './support/test-env.ts';
import { applyTenantConfig } from '../src/app/tenant-config.ts';
import { hasLoneSurrogate } from '../src/domain/unicode-text.ts';
import { STATISTIC_NAMES } from '../src/domain/statistics/statistic-catalog.ts';

/**
 * Schema-driven fuzzing of the external API against a real Postgres-backed app. The operations and
 * their fields come from the app's own OpenAPI document (every path, parameter and body field), so
 * a new route or field is fuzzed without touching this file. Each request fills every field with a
 * valid, boundary, hostile or wrongly typed value (lone surrogates, NUL, non-finite numbers and
 * numerals, traversal, over-long names, nulls, case variants, unknown and mis-cased parameters,
 * broken JSON, wrong media types, missing keys), then the answer must be below 500 and in the GES
 * envelope. Deterministic: FUZZ_SEED (default below) fixes every request; a failure prints the seed
 * and the requests that failed.
 */

const SEED = Number(process.env.FUZZ_SEED ?? 20261202);
const REQUESTS = 10_000;
/** Requests in flight at once. */
const CONCURRENCY = 8;

// Answers fastify writes before any GES code runs (a path parameter over 100 characters, a URL
// that is not valid percent-encoding) are in the GES envelope (docs/API.md "Answers before
// routing"), so the fuzzer holds them to the full contract like every other answer.

// ---- deterministic randomness ---------------------------------------------------------------------

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
let rnd = mulberry32(SEED);
const int = (n: number) => Math.floor(rnd() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
const chance = (p: number) => rnd() < p;

// ---- values ---------------------------------------------------------------------------------------

/** A JSON number written as raw text (1e309 parses to Infinity; JSON.stringify cannot write it). */
class RawNumber {
  constructor(readonly text: string) {}
}

function toJson(v: unknown): string {
  if (v instanceof RawNumber) return v.text;
  if (Array.isArray(v)) return `[${v.map(toJson).join(',')}]`;
  if (v && typeof v === 'object')
    return `{${Object.entries(v)
      .map(([k, x]) => `${JSON.stringify(k)}:${toJson(x)}`)
      .join(',')}}`;
  return JSON.stringify(v) ?? 'null';
}

const HOSTILE_STRINGS = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\ud800',
  '\udfff',
  'emoji cut \ud83d',
  '\ude00 lead',
  '\ud83d\ude00 ok',
  '../../../etc/passwd',
  '..\\..\\windows',
  '%2e%2e%2f%2e%2e%2f',
  '%00',
  '<script>alert(1)</script>',
  "'; DROP TABLE callback; --",
  'Infinity',
  '-Infinity',
  '1e309',
  '-1e309',
  'NaN',
  'null',
  'true',
  '0x10',
  '1_000',
  '\u202eevil',
  'İstanbul',
  'ǅ',
  '\\',
  '%',
  '{"a":1}',
  'x'.repeat(101),
  'x'.repeat(256),
  'x'.repeat(5000),
  '\t\n',
  '2030-02-30T25:61:00Z',
  '9999-12-31T23:59:59.999Z',
  '0000-01-01T00:00:00Z',
  '+999999999999999999999',
  'mode2',
  'MODE2',
  'fcm',
];
/** Strings PostgreSQL cannot store: each must be refused before it gets there. */
const UNSTORABLE_STRINGS = ['\u0000', 'a\u0000b', '\ud800', '\udfff', 'emoji cut \ud83d', '\ude00 lead'];
const HOSTILE_NUMBERS: unknown[] = [
  new RawNumber('1e309'),
  new RawNumber('-1e309'),
  new RawNumber('1e-400'),
  new RawNumber('-0'),
  'Infinity',
  '-Infinity',
  '1e309',
  'NaN',
  '',
  '0x1F',
  ' 7 ',
  '1.5',
  1.5,
  -1,
  0,
  Number.MAX_SAFE_INTEGER + 2,
  -Number.MAX_SAFE_INTEGER - 2,
  1e21,
  true,
  [],
  {},
  null,
];
const WRONG_TYPES: unknown[] = [null, true, false, 0, -1, 3.25, '', 'str', [], [null], {}, { a: { b: { c: 1 } } }, new RawNumber('1e309')];

function deep(depth: number): unknown {
  let v: unknown = 'leaf';
  for (let i = 0; i < depth; i += 1) v = chance(0.5) ? { k: v } : [v];
  return v;
}

interface Schema {
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  enum?: unknown[];
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  additionalProperties?: Schema | boolean;
  patternProperties?: Record<string, Schema>;
  anyOf?: Schema[];
}

const createdIds: string[] = [];
const future = (minutes: number) => new Date(Date.now() + minutes * 60_000).toISOString();

/** A plausible valid value for a field, by its name first, then by its schema. */
function validValue(name: string, schema: Schema): unknown {
  const n = name.toLowerCase();
  if (schema.enum) return pick(schema.enum);
  if (n === 'servicename' || n === 'queuename' || (n === 'name' && schema.type === 'string') || n === 'virtualqueue' || n === 'objectid')
    return chance(0.7) ? 'sales' : pick(['support', 'closed', 'nope']);
  if (n === 'virtual-queues') return pick(['sales', 'sales,support', 'sales,nope,support']);
  if (n.includes('phonenumber')) return chance(0.8) ? `+1415555${String(1000 + int(9000))}` : pick(['+14155550100', '(415) 555-0101', '+442079460100']);
  if (['desiredtime', 'start', 'end', 'from', 'to'].includes(n)) return future(pick([-5, 1, 30, 600, 1440 * 3]));
  if (n === 'startms' || n === 'endms') return Date.now() + int(7 * 86_400_000);
  if (n === 'timezone') return pick(['UTC', 'Europe/Paris', 'America/New_York']);
  if (n === 'id' || n === 'callbackserviceid') return createdIds.length > 0 && chance(0.7) ? pick(createdIds) : '00000000-0000-4000-8000-000000000000';
  if (n === 'groupname') return pick(['Support', 'Nope']);
  if (n === 'mode') return pick(['mode1', 'mode2', 'mode3']);
  if (n === 'cboffertype')
    return pick([
      'ASAP',
      'SCHEDULED',
      'asap',
      'ASAP if the request does not include the desiredTime parameter and SCHEDULED if the request includes the desiredTime parameter.',
    ]);
  if (n === 'statistics')
    return Array.from({ length: 1 + int(3) }, () => ({ name: pick(STATISTIC_NAMES), objectId: pick(['sales', 'support']), objectType: 'Queue' }));
  if (n === 'userdata') return { orderId: `A${int(100)}`, nested: { list: [1, 2, 3] } };
  const t = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (t) {
    case 'integer':
      return Math.max(schema.minimum ?? 0, Math.min(schema.maximum ?? 100, int(10)));
    case 'number':
      return int(1000) / 10;
    case 'boolean':
      return chance(0.5);
    case 'array':
      return schema.items ? [fieldValue('item', schema.items)] : [];
    case 'object':
      return schema.properties ? objectValue(schema, 0) : {};
    default:
      return `v${int(1000)}`;
  }
}

/** A value at a schema boundary: lengths and limits just inside and just outside. */
function boundaryValue(schema: Schema): unknown {
  const t = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  if (t === 'string') {
    const max = schema.maxLength ?? 255;
    return pick([
      '',
      'a'.repeat(Math.max(0, (schema.minLength ?? 1) - 1)),
      'a'.repeat(max),
      'a'.repeat(max + 1),
      'é'.repeat(max),
      '😀'.repeat(Math.ceil(max / 2) + 1),
    ]);
  }
  if (t === 'integer' || t === 'number') {
    const lo = schema.minimum ?? -1e6;
    const hi = schema.maximum ?? 1e6;
    return pick([lo, lo - 1, hi, hi + 1, lo - 0.5, hi + 0.5, 0]);
  }
  if (t === 'array') return Array.from({ length: pick([0, 1, 11, 101]) }, () => (schema.items ? fieldValue('item', schema.items) : 1));
  return WRONG_TYPES[int(WRONG_TYPES.length)];
}

/** A value that is not a plain valid one: boundary, hostile, wrong type, null, or deeply nested. */
function badValue(name: string, schema: Schema): unknown {
  const r = rnd();
  if (r < 0.25) return boundaryValue(schema);
  if (r < 0.65) {
    const t = Array.isArray(schema.type) ? schema.type[0] : schema.type;
    if (t === 'integer' || t === 'number') return pick(HOSTILE_NUMBERS);
    if (t === 'boolean') return pick(['TRUE', 'False', '1', '0', 'yes', 2, 'null']);
    if (schema.enum) {
      const e = String(pick(schema.enum));
      return pick([e.toLowerCase(), e.toUpperCase(), ` ${e}`, `${e}x`]);
    }
    if (name === 'userData')
      return {
        [pick(['ok', '1bad', 'has space', '\ud800', '__proto__', 'constructor', 'x'.repeat(300)])]: pick([
          ...UNSTORABLE_STRINGS,
          ...HOSTILE_STRINGS,
          ...WRONG_TYPES,
        ]),
      };
    if (t === 'array' && schema.items) return [badValue('item', schema.items)];
    if (t === 'object' && schema.properties) return objectValue(schema, 1);
    return chance(0.3) ? pick(UNSTORABLE_STRINGS) : pick(HOSTILE_STRINGS);
  }
  if (r < 0.88) return pick(WRONG_TYPES);
  if (r < 0.95) return null;
  return deep(pick([5, 31, 33, 200]));
}

/** Mostly valid, sometimes bad: for values nested inside a valid request. */
function fieldValue(name: string, schema: Schema): unknown {
  return chance(0.8) ? validValue(name, schema) : badValue(name, schema);
}

/**
 * A body: every required field and about half of the optional ones valid, then `mutations` of its
 * fields (present or not) made bad. One bad field in an otherwise valid request reaches the handler
 * and the database, where the deep bugs are; fully random bodies mostly stop at the schema.
 */
function objectValue(schema: Schema, mutations: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const required = new Set(schema.required ?? []);
  const fields = Object.entries(schema.properties ?? {});
  for (const [k, s] of fields) if (required.has(k) || chance(0.5)) out[k] = validValue(k, s);
  for (let m = 0; m < mutations && fields.length > 0; m += 1) {
    const [k, s] = pick(fields);
    if (required.has(k) && chance(0.1)) delete out[k];
    else out[k] = badValue(k, s);
  }
  if (chance(0.03)) out[pick(['unknownField', 'ServiceName', '__proto__', ''])] = pick(HOSTILE_STRINGS);
  return out;
}

// ---- the operations, from the app's OpenAPI document -------------------------------------------------

interface Operation {
  method: string;
  path: string; // with {param} placeholders
  pathParams: { name: string; schema: Schema }[];
  query: { name: string; schema: Schema; required: boolean }[];
  body?: Schema;
}

/** The parts of an OpenAPI operation the fuzzer reads. */
interface OpenApiOperation {
  parameters?: { in: string; name: string; schema: Schema; required?: boolean }[];
  requestBody?: { content?: Record<string, { schema?: Schema } | undefined> };
}

function operationsOf(app: FastifyInstance): Operation[] {
  const doc = app.swagger() as { paths: Record<string, Record<string, OpenApiOperation>> };
  const ops: Operation[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    if (!path.startsWith('/engagement/v3')) continue;
    for (const [method, op] of Object.entries(methods)) {
      const params = op.parameters ?? [];
      ops.push({
        method: method.toUpperCase(),
        path,
        pathParams: params.filter((p) => p.in === 'path').map((p) => ({ name: p.name, schema: p.schema })),
        query: params.filter((p) => p.in === 'query').map((p) => ({ name: p.name, schema: p.schema, required: p.required === true })),
        body: op.requestBody?.content?.['application/json']?.schema,
      });
    }
  }
  return ops;
}

/** Percent-encodes a path segment; a lone surrogate becomes the (invalid) bytes a naive client would send. */
function encodeSegment(s: string): string {
  if (hasLoneSurrogate(s)) return '%ED%A0%80';
  return encodeURIComponent(s);
}

function caseVariant(name: string): string {
  return pick([name.toLowerCase(), name.toUpperCase(), name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`), name]);
}

interface Built {
  method: string;
  url: string;
  headers: Record<string, string>;
  payload?: string;
}

function build(op: Operation, apiKey: string): Built {
  // Which part of the request goes bad: a body field, a query parameter, a path parameter, all, or none.
  const target = pick(['body', 'body', 'body', 'query', 'path', 'all', 'none'] as const);
  const bad = (part: 'body' | 'query' | 'path') => target === part || target === 'all';
  let path = op.path;
  const badParam = op.pathParams.length > 0 ? pick(op.pathParams).name : '';
  for (const p of op.pathParams) {
    const v = bad('path') && p.name === badParam ? String(pick([...HOSTILE_STRINGS, 'x'.repeat(100), 'y'.repeat(101)])) : String(validValue(p.name, p.schema));
    path = path.replace(`{${p.name}}`, v === '' ? '' : encodeSegment(v));
  }
  if (chance(0.05)) path = path.replace('/engagement/v3', '/ges/engagement/v3');
  const q: string[] = [];
  const badQuery = op.query.length > 0 ? pick(op.query).name : '';
  for (const p of op.query) {
    const mutate = bad('query') && p.name === badQuery;
    if (!p.required && !mutate && chance(0.5)) continue;
    const v = mutate ? badValue(p.name, p.schema) : validValue(p.name, p.schema);
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') continue; // a query value is text
    q.push(`${encodeURIComponent(mutate && chance(0.3) ? caseVariant(p.name) : p.name)}=${encodeSegment(String(v))}`);
  }
  if (bad('query') && chance(0.2)) q.push(`${pick(['maxSlots', 'foo', '_', 'reportbusy', 'MODE'])}=${encodeSegment(String(pick(HOSTILE_STRINGS)))}`);
  const headers: Record<string, string> = { 'x-api-key': chance(0.97) ? apiKey : pick(['', 'wrong', 'x'.repeat(600)]) };
  if (chance(0.03)) headers.ccid = '11111111-1111-1111-1111-111111111111';
  if (chance(0.05)) headers['idempotency-key'] = pick(['k1', '', 'x'.repeat(300), `k${int(20)}`]);
  if (chance(0.03)) headers['cache-control'] = pick(['max-age=0', 'max-age=abc', 'no-cache', 'max-age=999999999999999999999']);
  let payload: string | undefined;
  if (op.body) {
    headers['content-type'] = chance(0.96)
      ? pick(['application/json', 'application/json; charset=utf-8', 'APPLICATION/JSON'])
      : pick(['text/plain', 'application/x-www-form-urlencoded', 'application/xml']);
    payload = toJson(objectValue(op.body, bad('body') ? 1 + (chance(0.3) ? int(3) : 0) : 0));
    const r = rnd();
    if (r < 0.03)
      payload = payload.slice(0, int(payload.length)); // truncated JSON
    else if (r < 0.05) payload = pick(['', 'null', '[]', '"str"', '1e309', '{"a":', '{"serviceName":"sales","serviceName":"x"}', '\ufeff{}']);
    else if (r < 0.055) payload = `{"userData":${toJson(deep(100))}}`;
    else if (r < 0.058) payload = `{"userData":{"big":"${'x'.repeat(300 * 1024)}"}}`;
  } else if (chance(0.05)) {
    headers['content-type'] = 'application/json';
    payload = pick(['{}', '{"x":1}', 'not json']);
  }
  return { method: op.method, url: q.length > 0 ? `${path}?${q.join('&')}` : path, headers, ...(payload === undefined ? {} : { payload }) };
}

/** Why an answer breaks the contract, or undefined when it is a clean < 500 envelope. */
function violation(res: { statusCode: number; headers: Record<string, unknown>; body: string }): string | undefined {
  if (res.statusCode >= 500) return `status ${res.statusCode}`;
  let json: unknown;
  try {
    json = JSON.parse(res.body);
  } catch {
    return 'not JSON';
  }
  const answer = typeof json === 'object' && json !== null ? (json as Record<string, unknown>) : {};
  if (!/application\/json/.test(String(res.headers['content-type']))) return `content-type ${String(res.headers['content-type'])}`;
  if (!answer.status || typeof answer.status !== 'object') return 'no status object';
  const s = answer.status as Record<string, unknown>;
  if (s.code !== res.statusCode) return `status.code ${String(s.code)} for HTTP ${res.statusCode}`;
  if (typeof s.message !== 'string' || s.message === '') return 'status.message missing';
  if (typeof s.corrId !== 'string' || s.corrId === '') return 'status.corrId missing';
  return undefined;
}

// ---- the run --------------------------------------------------------------------------------------------

let db: TestDb;
let app: FastifyInstance;
let tenant: TestTenant;

before(async () => {
  db = await createTestDb();
  app = await buildTestApi(db);
  tenant = await createTestTenant(db, 'fuzzco', {
    sales: { inQueueChecking: 'false', requestsPerNumberPer24h: 0 },
    support: { inQueueChecking: 'strict', requestsPerNumberPer24h: 3, slotMinutes: 60, slotCapacity: 2 },
  });
  await applyTenantConfig(db.pool, {
    tenant: 'fuzzco',
    businessHours: [{ name: 'never', timeZone: 'UTC', weekly: { mon: ['09:00-09:30'] } }],
    services: [{ name: 'closed', businessHours: 'never', options: { rejectOutOfHours: true } }],
    callInGroups: [{ name: 'Support', dnis: ['+18005550100'] }],
  });
  for (let i = 0; i < 20; i += 1) {
    const res = await app.inject({
      method: 'POST',
      url: '/engagement/v3/callbacks/create',
      headers: { 'x-api-key': tenant.apiKey, 'content-type': 'application/json' },
      payload: { serviceName: 'sales', phoneNumber: `+1415555${3000 + i}`, desiredTime: future(600 + i) },
    });
    createdIds.push(res.json().data.id);
  }
});
after(async () => {
  await app.close();
  await db.close();
});

describe(`API fuzz (seed ${SEED})`, () => {
  test(`${REQUESTS} schema-driven requests: never a 5xx, always the GES envelope`, async () => {
    rnd = mulberry32(SEED);
    const ops = operationsOf(app);
    assert.ok(ops.length >= 12, `the OpenAPI document lists the operations (${ops.length})`);
    // Every request is built first, from the seed alone (ids come from the callbacks made in
    // before()), so the run is the same whatever order the answers arrive in; then they are sent
    // a few at a time, which keeps the run short on a loaded machine.
    const requests = Array.from({ length: REQUESTS }, (_, i) => ({ i, op: ops[i % ops.length]!, req: build(ops[i % ops.length]!, tenant.apiKey) }));
    const failures: string[] = [];
    const perOperation = new Map<string, number>();
    const statuses = new Map<number, number>();
    for (let from = 0; from < requests.length; from += CONCURRENCY) {
      await Promise.all(
        requests.slice(from, from + CONCURRENCY).map(async ({ i, op, req }) => {
          const res = await app.inject({
            method: req.method as 'GET' | 'POST',
            url: req.url,
            headers: req.headers,
            ...(req.payload === undefined ? {} : { payload: req.payload }),
          });
          perOperation.set(`${op.method} ${op.path}`, (perOperation.get(`${op.method} ${op.path}`) ?? 0) + 1);
          statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
          const why = violation(res);
          if (why && failures.length < 20)
            failures.push(
              `#${i} ${why}: ${req.method} ${req.url.slice(0, 200)} ${JSON.stringify(req.headers).slice(0, 200)} ${(req.payload ?? '').slice(0, 300)} -> ${res.body.slice(0, 300)}`,
            );
        }),
      );
    }
    if (process.env.FUZZ_REPORT) console.log(JSON.stringify({ statuses: [...statuses], perOperation: [...perOperation] }));
    assert.deepEqual(failures, [], `seed ${SEED}: ${failures.length} bad answers`);
    assert.equal(
      [...perOperation.values()].reduce((a, b) => a + b, 0),
      REQUESTS,
    );
    // The fuzzer must reach the handlers too, not only the schema: some answers succeed.
    assert.ok((statuses.get(200) ?? 0) > REQUESTS / 20, `successes: ${JSON.stringify([...statuses])}`);
    assert.ok((statuses.get(400) ?? 0) > REQUESTS / 5, `refusals: ${JSON.stringify([...statuses])}`);
  });
});
