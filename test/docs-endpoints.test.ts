// The endpoints the documentation names, checked against the running application: every API path a
// doc mentions (in a table or in `backticks`, with or without the /engagement/v3 prefix) is served,
// a doc that says a path is "not yet" served or answers 404 is right, and every operation of the
// OpenAPI document is named somewhere in the docs. This is what caught docs/DEPLOYMENT.md still
// calling queue-status, estimated-wait-time, call-in and get-statistic-ex 404 after they arrived.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { buildTestApi, createTestDb, createTestTenant, type TestDb, type TestTenant } from './support/test-env.ts';

const ROOT = new URL('../', import.meta.url);
const DOCS = [
  'README.md',
  ...readdirSync(new URL('docs/', ROOT))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

/** Roots of the Engagement API below /engagement/v3, so "POST /callbacks/find" counts as a mention too. */
const API_ROOTS = /^\/(callbacks|estimated-wait-time|call-in|statistics|captcha)(\/|$)/;

interface Mention {
  doc: string;
  line: number;
  method?: string;
  path: string; // a concrete URL: parameters filled in, prefix paths completed
  says404: boolean;
}

/** `{service}`, `:serviceName` and a trailing `/` (an ingress prefix) become a real service name. */
function concrete(path: string): string {
  const filled = path.replace(/\{[^}]+\}|:[A-Za-z]+/g, 'sales').replace(/…$/, '');
  return filled.endsWith('/') ? `${filled}sales` : filled;
}

function mentions(): Mention[] {
  const out: Mention[] = [];
  for (const doc of DOCS) {
    const lines = readFileSync(new URL(doc, ROOT), 'utf8').split('\n');
    let fenced = false;
    lines.forEach((text, i) => {
      if (text.startsWith('```')) fenced = !fenced;
      if (fenced) return;
      const says404 = /not yet|answer(s|ed)? 404|\(404\)/i.test(text);
      for (const m of text.matchAll(/`(?:(GET|POST|PUT|DELETE) )?(\/[^`\s]*)/g)) {
        let path = m[2]!;
        if (path.startsWith('/engagement/v3/')) path = path.slice('/engagement/v3'.length);
        else if (!API_ROOTS.test(path)) continue;
        out.push({ doc, line: i + 1, method: m[1], path: `/engagement/v3${concrete(path)}`, says404 });
      }
    });
  }
  return out;
}

let db: TestDb;
let app: FastifyInstance;
let acme: TestTenant;

before(async () => {
  db = await createTestDb();
  app = await buildTestApi(db);
  acme = await createTestTenant(db, 'acme-docs', { sales: {} });
});

after(async () => {
  await app?.close();
  await db?.close();
});

/** Whether some method (the one named, else GET or POST) reaches a route; an empty body may well be refused, just not as "no route". */
async function served(path: string, method?: string): Promise<{ served: boolean; answers: string }> {
  const answers: string[] = [];
  for (const m of method ? [method] : ['GET', 'POST']) {
    const res = await app.inject({
      method: m as 'GET',
      url: path,
      headers: { 'x-api-key': acme.apiKey, ...(m === 'GET' ? {} : { 'content-type': 'application/json' }) },
      ...(m === 'GET' ? {} : { payload: '{}' }),
    });
    const code = res.json<{ status?: { errorCode?: string } }>().status?.errorCode;
    answers.push(`${m} ${res.statusCode} ${code ?? ''}`.trim());
    if (!(res.statusCode === 404 && code === 'GES_ROUTE_NOT_FOUND')) return { served: true, answers: answers.join(', ') };
  }
  return { served: false, answers: answers.join(', ') };
}

test('the docs name API endpoints, and the ingress table of docs/DEPLOYMENT.md lists the ten of the deployment guide', () => {
  const all = mentions();
  assert.ok(all.length > 20, `only ${all.length} mentions found: the parser no longer reads the docs`);
  const table = all.filter((m) => m.doc === 'docs/DEPLOYMENT.md');
  for (const p of ['/callbacks/queue-status/sales', '/estimated-wait-time', '/call-in/requests/create', '/statistics/operations/get-statistic-ex']) {
    assert.ok(
      table.some((m) => m.path === `/engagement/v3${p}`),
      `docs/DEPLOYMENT.md names ${p}`,
    );
  }
});

test('every endpoint the docs name is served, and says so: no doc calls a served path 404 or "not yet"', async () => {
  const wrong: string[] = [];
  const seen = new Map<string, { served: boolean; answers: string }>();
  for (const m of mentions()) {
    const key = `${m.method ?? '*'} ${m.path}`;
    if (!seen.has(key)) seen.set(key, await served(m.path, m.method));
    const result = seen.get(key)!;
    if (m.says404 && result.served) wrong.push(`${m.doc}:${m.line} says ${m.path} is not served (404), but it answers ${result.answers}`);
    if (!m.says404 && !result.served) wrong.push(`${m.doc}:${m.line} names ${m.method ?? ''} ${m.path}, which has no route (${result.answers})`);
  }
  assert.deepEqual(wrong, []);
});

test('every operation of the OpenAPI document is named in the docs', async () => {
  const spec = (await app.inject({ method: 'GET', url: '/ges/docs/json' })).json<{ paths: Record<string, Record<string, unknown>> }>();
  const named = new Set(mentions().map((m) => m.path));
  const missing = Object.keys(spec.paths)
    .filter((p) => p.startsWith('/engagement/v3/'))
    .map((p) => concrete(p))
    .filter((p) => !named.has(p));
  assert.deepEqual(missing, [], 'document these endpoints (docs/API.md or docs/DEPLOYMENT.md)');
});
