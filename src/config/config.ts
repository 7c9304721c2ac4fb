import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Type, type Static } from 'typebox';
import { Value } from 'typebox/value';
import { EDGE_SETTINGS } from './edge-settings.ts';
import { SIP_SETTINGS } from './sip-settings.ts';

/**
 * Every setting GES reads, with its default. The same schema validates, types and documents the
 * configuration (docs/CONFIGURATION.md is generated from it: `npm run docs:config`). Names are the environment variable names;
 * a file of the same name in one of the SECRETS_DIRS folders wins over nothing but loses to the
 * environment, so an operator can override a mounted secret for a single run.
 */
export const ConfigSchema = Type.Object({
  NODE_ENV: Type.String({ default: 'development', description: 'Conventional Node setting; GES behaves the same whatever its value' }),
  HOST: Type.String({ default: '0.0.0.0', description: 'Interface both HTTP listeners bind to' }),
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3005, description: 'External API (and UI) port' }),
  INTERNAL_PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3050, description: 'Health and metrics port' }),
  DATABASE_URL: Type.String({ default: '', description: 'PostgreSQL URL; empty means the embedded PGlite database' }),
  DATABASE_POOL_MAX: Type.Integer({ minimum: 1, maximum: 200, default: 10, description: 'PostgreSQL connections per node (embedded mode always uses 1)' }),
  DATABASE_SCHEMA: Type.String({ default: '', pattern: '^$|^[a-z_][a-z0-9_]{0,62}$', description: 'Schema to use (empty: the server default search_path)' }),
  DATA_DIR: Type.String({ default: './data', description: 'Folder of the embedded database' }),
  MIGRATE_ON_START: Type.Boolean({
    default: true,
    description: 'Apply pending migrations at start, under an advisory lock (the Helm chart runs a migration Job instead)',
  }),
  DEMO_SEED: Type.Enum(['auto', 'true', 'false'], {
    default: 'auto',
    description: 'Create a demo tenant, service and API key on first start (auto: only in embedded mode)',
  }),
  LOG_LEVEL: Type.Enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { default: 'info', description: 'pino log level' }),
  BODY_LIMIT_BYTES: Type.Integer({
    minimum: 1024,
    maximum: 10 * 1024 * 1024,
    default: 1024 * 1024,
    description: 'Largest request body; larger ones get 413 in the GES envelope',
  }),
  RETENTION_DAYS: Type.Integer({ minimum: 14, maximum: 14, default: 14, description: 'Fixed at 14 days after the desired time, as in GES' }),
  API_KEY_CACHE_SEC: Type.Integer({
    minimum: 0,
    maximum: 300,
    default: 5,
    description: 'Seconds a node remembers a valid API key (a revoked key works that long at most); 0 = look up every request',
  }),
  MAINTENANCE_INTERVAL_SEC: Type.Integer({
    minimum: 10,
    maximum: 86400,
    default: 3600,
    description: 'How often a node prepares daily partitions, applies retention and re-measures clock skew',
  }),
  SHUTDOWN_DELAY_SEC: Type.Integer({
    minimum: 0,
    maximum: 120,
    default: 0,
    description: 'On SIGTERM, seconds to keep serving while readiness reports 503, so load balancers stop routing first (the Helm chart sets 5)',
  }),
  TENANT_SECRET_KEY: Type.String({
    default: '',
    pattern: '^$|^[0-9a-fA-F]{64}$|^[A-Za-z0-9+/_-]{43}=?$',
    description:
      "32-byte key (64 hex digits or base64) that seals tenants' secrets (CAPTCHA secret, push credentials) in the database with AES-256-GCM; every node needs the same one. Empty: embedded mode keeps a generated key in DATA_DIR, other deployments cannot store tenant secrets",
  }),
  TENANT_SECRET_KEY_PREVIOUS: Type.String({
    default: '',
    pattern: '^$|^[0-9a-fA-F]{64}$|^[A-Za-z0-9+/_-]{43}=?$',
    description: 'During a key rotation, the key before TENANT_SECRET_KEY: secrets sealed under it still open, and each is re-sealed when written again',
  }),
  FCM_API_URL: Type.String({
    default: 'https://fcm.googleapis.com',
    pattern: '^https?://[^\\s]+$',
    description: 'Base URL of Firebase Cloud Messaging HTTP v1 (pushes of USERORIGINATED callbacks: {FCM_API_URL}/v1/projects/{project_id}/messages:send)',
  }),
  FCM_TOKEN_URL: Type.String({
    default: '',
    pattern: '^$|^https?://[^\\s]+$',
    description: "OAuth token endpoint for the push service accounts; empty: each service account's token_uri (Google's)",
  }),
  SECRETS_DIRS: Type.String({ default: '', description: 'Comma-separated folders whose files are read as settings' }),
  REDIS_URL: Type.String({
    default: '',
    description: "Redis for the engine's hot state (redis://host:port); empty: in-process hot state (embedded, single node only)",
  }),
  REDIS_CLUSTER_NODES: Type.String({ default: '', description: 'Comma-separated host:port seeds of a Redis Cluster; used instead of REDIS_URL when set' }),
  REDIS_KEY_PREFIX: Type.String({ default: 'ges:', pattern: '^[A-Za-z0-9:_.-]{0,64}$', description: 'Prefix of every Redis key GES writes' }),
  REDIS_COMMAND_TIMEOUT_MS: Type.Integer({
    minimum: 100,
    maximum: 60000,
    default: 2000,
    description:
      'A Redis command without an answer after this long fails (blocking stream reads excepted), so a silent Redis cannot hold a create or an engine round; the create is already committed and the engine takes it up from PostgreSQL once Redis answers',
  }),
  ENGINE_ENABLED: Type.Boolean({ default: true, description: 'Run the callback engine on this node (dispatch, dialing, retries); false for an API-only node' }),
  ENGINE_POLL_MS: Type.Integer({
    minimum: 100,
    maximum: 60000,
    default: 2000,
    description: 'How often an idle engine asks Redis for due work (one command per poll, whatever the number of tenants)',
  }),
  ENGINE_WATCHDOG_SEC: Type.Integer({
    minimum: 0,
    maximum: 3600,
    default: 0,
    description:
      'Caps how long an attempt may go without news from the voice platform before the engine re-sends its command or gives it up (0: the built-in 120-180 s per phase, 4 h while talking); lower it only for a platform that answers in seconds (tests, a sped-up simulator)',
  }),
  VOICE_PLATFORM: Type.Enum(['simulator', 'redis-stream', 'sip'], {
    default: 'simulator',
    description:
      'Voice platform adapter: the built-in contact-center simulator, a real platform over Redis streams (docs/VOICE-CONTRACT.md), or SIP: GES calls phones itself (docs/VOICE-SIP.md)',
  }),
  VOICE_CLAIM_IDLE_MS: Type.Integer({
    minimum: 1000,
    maximum: 3600000,
    default: 60000,
    description:
      'redis-stream: a voice event left pending this long by a node (one that died) is taken over by another; keep it above the slowest event handling',
  }),
  VOICE_CLAIM_INTERVAL_MS: Type.Integer({ minimum: 100, maximum: 600000, default: 30000, description: 'redis-stream: how often a node looks for such events' }),
  SIMULATOR_AGENTS: Type.Integer({ minimum: 0, maximum: 1000, default: 3, description: 'Simulator: agents per callback service' }),
  TEST_CLOCK_SKEW_MS: Type.Integer({
    minimum: -60000,
    maximum: 60000,
    default: 0,
    description:
      'Tests only (the fault suite): this node acts as if its clock were that many ms ahead of its measured database clock, as a node with a badly measured skew would; never set it in production',
  }),
  ADMIN_TOKEN: Type.String({
    default: '',
    pattern: '^$|^[!-~]{16,512}$',
    description: 'Bearer token of the admin API on INTERNAL_PORT (16 to 512 visible ASCII characters); empty disables the admin API',
  }),
  CONSOLE_SESSION_IDLE_MIN: Type.Integer({
    minimum: 1,
    maximum: 1440,
    default: 20,
    description: 'Minutes of inactivity after which a console session ends (as in GES: 20)',
  }),
  CONSOLE_SECURE_COOKIE: Type.Enum(['auto', 'true', 'false'], {
    default: 'auto',
    description:
      'Secure flag of the console session cookie: auto (when the request came over TLS), true (always: set it behind a TLS-terminating ingress), false',
  }),
  ...EDGE_SETTINGS,
  ...SIP_SETTINGS,
});

/** Settings whose values never appear in an error message. */
const SECRET_SETTINGS: ReadonlySet<string> = new Set([
  'ADMIN_TOKEN',
  'TENANT_SECRET_KEY',
  'TENANT_SECRET_KEY_PREVIOUS',
  'SIP_TRUNK_PASSWORD',
  'SIP_NONCE_SECRET',
]);

export type Config = Readonly<Static<typeof ConfigSchema>>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

const KNOWN = Object.keys(ConfigSchema.properties);

/** Files in the secrets folders named after a setting (either spelling: DB_PASSWORD or DB-PASSWORD). */
function readSecretFiles(dirs: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const dir of dirs
    .split(',')
    .map((d) => d.trim())
    .filter(Boolean)) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      throw new ConfigError([`SECRETS_DIRS: folder ${dir} cannot be read`]);
    }
    for (const name of names) {
      const key = name.replace(/-/g, '_').toUpperCase();
      const path = join(dir, name);
      if (!KNOWN.includes(key) || !statSync(path).isFile()) continue;
      out[key] = readFileSync(path, 'utf8').trim();
    }
  }
  return out;
}

/**
 * Reads, validates and deep-freezes the configuration. `overrides` lets tests and the CLI set
 * values without touching process.env. Every problem is reported at once, naming the setting.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Record<keyof Config, unknown>> = {}): Config {
  const raw: Record<string, unknown> = {};
  const secretDirs = overrides.SECRETS_DIRS ?? env.SECRETS_DIRS ?? '';
  if (typeof secretDirs !== 'string') throw new ConfigError(['SECRETS_DIRS: must be a comma-separated list of folders']);
  const secrets = readSecretFiles(secretDirs);
  for (const key of KNOWN) {
    const value = (overrides as Record<string, unknown>)[key] ?? env[key] ?? secrets[key];
    if (value !== undefined && value !== '') raw[key] = value;
  }
  const withDefaults = Value.Default(ConfigSchema, Value.Convert(ConfigSchema, raw));
  if (!Value.Check(ConfigSchema, withDefaults)) {
    const problems = [...Value.Errors(ConfigSchema, withDefaults)].map((e) => {
      const name = e.instancePath.replace(/^\//, '') || '(root)';
      const got = (withDefaults as Record<string, unknown>)[name];
      return `${name}: ${e.message} (got ${SECRET_SETTINGS.has(name) ? `${String(got).length} characters` : JSON.stringify(got)})`;
    });
    throw new ConfigError([...new Set(problems)]);
  }
  return Object.freeze(withDefaults);
}
