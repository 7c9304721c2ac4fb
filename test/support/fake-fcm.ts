import { createServer, type IncomingMessage, type Server } from 'node:http';
import { generateKeyPairSync, verify, type KeyObject } from 'node:crypto';
import type { AddressInfo } from 'node:net';

/**
 * A local stand-in for Google's OAuth token endpoint and FCM HTTP v1, on 127.0.0.1: the token
 * endpoint verifies the JWT-bearer assertion's RS256 signature with the service account's public
 * key and checks its claims as Google does; messages:send accepts only tokens it issued, and
 * records every message. `answers` scripts FCM's next replies (e.g. two 503s, then success).
 */
export interface FakeFcm {
  url: string;
  tokenUrl: string;
  /** A service-account JSON whose key the token endpoint trusts. */
  serviceAccount: string;
  /** One with another key (the token endpoint refuses it). */
  foreignServiceAccount: string;
  messages: { project: string; body: { message: { token: string; data?: Record<string, string> } & Record<string, unknown>; validate_only?: boolean } }[];
  /** Claims of every assertion the token endpoint accepted. */
  assertions: Record<string, unknown>[];
  /** Refused assertions (bad signature, bad claims) and FCM calls without a valid bearer token. */
  refusals: string[];
  /** FCM's scripted next answers (status, then JSON body); empty: 200 with a message name. */
  answers: { status: number; body?: unknown; retryAfter?: string }[];
  /** Registration tokens FCM answers 404 UNREGISTERED for. */
  unregistered: Set<string>;
  close(): Promise<void>;
}

const PROJECT = 'ges-push-test';
const CLIENT_EMAIL = 'ges-sender@ges-push-test.iam.gserviceaccount.com';

function account(privateKey: KeyObject, tokenUri: string): string {
  return JSON.stringify({
    type: 'service_account',
    project_id: PROJECT,
    private_key_id: 'k1',
    private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    client_email: CLIENT_EMAIL,
    token_uri: tokenUri,
  });
}

async function bodyOf(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startFakeFcm(): Promise<FakeFcm> {
  const trusted = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const foreign = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const issued = new Set<string>();
  let served = 0;
  const fake = {
    messages: [],
    assertions: [],
    refusals: [],
    answers: [],
    unregistered: new Set<string>(),
  } as unknown as FakeFcm;

  const server: Server = createServer((req, res) => {
    void (async () => {
      const text = await bodyOf(req);
      const reply = (status: number, body: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(JSON.stringify(body));
      };
      if (req.method === 'POST' && req.url === '/token') {
        const form = new URLSearchParams(text);
        if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer' || req.headers['content-type'] !== 'application/x-www-form-urlencoded') {
          fake.refusals.push('token: bad grant');
          return reply(400, { error: 'unsupported_grant_type' });
        }
        const [h, c, sig] = (form.get('assertion') ?? '').split('.');
        const signed = verify('RSA-SHA256', Buffer.from(`${h}.${c}`), trusted.publicKey, Buffer.from(sig ?? '', 'base64url'));
        const header = JSON.parse(Buffer.from(h ?? '', 'base64url').toString() || '{}') as Record<string, unknown>;
        const claims = JSON.parse(Buffer.from(c ?? '', 'base64url').toString() || '{}') as Record<string, number | string>;
        const now = Math.floor(Date.now() / 1000);
        const problems = [
          !signed && 'signature',
          header.alg !== 'RS256' && 'alg',
          claims.iss !== CLIENT_EMAIL && 'iss',
          claims.scope !== 'https://www.googleapis.com/auth/firebase.messaging' && 'scope',
          claims.aud !== fake.tokenUrl && 'aud',
          !(typeof claims.iat === 'number' && Math.abs(claims.iat - now) < 120) && 'iat',
          !(typeof claims.exp === 'number' && typeof claims.iat === 'number' && claims.exp > claims.iat && claims.exp - claims.iat <= 3600) && 'exp',
        ].filter(Boolean);
        if (problems.length > 0) {
          fake.refusals.push(`token: ${problems.join(',')}`);
          return reply(400, { error: 'invalid_grant', error_description: 'Invalid JWT' });
        }
        fake.assertions.push(claims);
        const token = `ya29.fake-${issued.size + 1}`;
        issued.add(token);
        return reply(200, { access_token: token, expires_in: 3599, token_type: 'Bearer' });
      }
      const m = /^\/v1\/projects\/([^/]+)\/messages:send$/.exec(req.url ?? '');
      if (req.method === 'POST' && m) {
        const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
        if (!bearer || !issued.has(bearer)) {
          fake.refusals.push('fcm: unauthenticated');
          return reply(401, { error: { code: 401, status: 'UNAUTHENTICATED' } });
        }
        const body = JSON.parse(text) as FakeFcm['messages'][number]['body'];
        const next = fake.answers.shift();
        if (next)
          return reply(
            next.status,
            next.body ?? { error: { code: next.status, status: 'UNAVAILABLE' } },
            next.retryAfter ? { 'retry-after': next.retryAfter } : {},
          );
        if (fake.unregistered.has(body.message.token))
          return reply(404, { error: { code: 404, status: 'NOT_FOUND', details: [{ errorCode: 'UNREGISTERED' }] } });
        fake.messages.push({ project: decodeURIComponent(m[1]!), body });
        served += 1;
        return reply(200, { name: `projects/${m[1]}/messages/0:${served}` });
      }
      reply(404, { error: 'not found' });
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  fake.url = `http://127.0.0.1:${port}`;
  fake.tokenUrl = `${fake.url}/token`;
  fake.serviceAccount = account(trusted.privateKey, fake.tokenUrl);
  fake.foreignServiceAccount = account(foreign.privateKey, fake.tokenUrl);
  fake.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return fake;
}
