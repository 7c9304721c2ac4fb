import { ConfigSchema } from './config.ts';

interface SettingSchema {
  type?: string;
  enum?: unknown[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  pattern?: string;
  description?: string;
}

function kind(s: SettingSchema): string {
  if (s.enum) return s.enum.map(String).join(' \\| ');
  if (s.type === 'integer') return `integer ${s.minimum ?? ''}–${s.maximum ?? ''}`;
  return s.type ?? 'string';
}

/** docs/CONFIGURATION.md, generated from {@link ConfigSchema}. */
export function configurationMarkdown(): string {
  const rows = Object.entries(ConfigSchema.properties as Record<string, SettingSchema>).map(([name, s]) => {
    const def = s.default === '' ? '(empty)' : String(s.default);
    return `| \`${name}\` | ${kind(s)} | ${def} | ${s.description ?? ''} |`;
  });
  return [
    '# Configuration',
    '',
    '<!-- Generated from src/config/config.ts by `npm run docs:config`; do not edit by hand. -->',
    '',
    'Every setting is read from the environment or, failing that, from a file named after it (`DATABASE_URL` or',
    '`DATABASE-URL`) in one of the folders listed in `SECRETS_DIRS`, the way Kubernetes mounts a Secret. Values are',
    'validated at start; every problem is reported at once, naming the setting (never the value of a secret).',
    '',
    'These are the settings of a GES process. What each tenant configures (business hours, capacity rules,',
    'services, call-in groups, number validation rules in `numberRules` and `services[].numberRule`, browser',
    'origins for CORS in `cors.allowedOrigins`, its CAPTCHA provider in `captcha`, with a write-only `secret` sealed',
    'by `TENANT_SECRET_KEY`) is written in its configuration file (`ges config apply`, README "Configuration file";',
    'the rules, CORS and CAPTCHA in docs/API.md) or edited in the console.',
    '',
    '| Setting | Type | Default | Meaning |',
    '| --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}
