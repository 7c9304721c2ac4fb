import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import YAML, { isScalar } from 'yaml';
import type { TSchema } from 'typebox';
import { TenantConfigDoc, type ApplyReport } from '../app/tenant-config.ts';
import { ServiceOptionsSchema } from '../domain/service-options.ts';
import { inspectJson } from '../http/body-guard.ts';

/**
 * Reading and writing tenant configuration files (`ges config apply/export`): YAML or JSON chosen
 * by the file name, parsed into the plain value applyTenantConfig validates. YAML is read with the
 * YAML 1.2 core schema, so `no`, `on` or `2026-12-25` stay what they look like (a string) instead
 * of turning into booleans or dates.
 */

export type ConfigFormat = 'yaml' | 'json';

/** A configuration file that cannot be read or parsed; the message names the file. */
export class ConfigFileError extends Error {
  override name = 'ConfigFileError';
}

export function formatOfFile(path: string): ConfigFormat {
  const ext = extname(path).toLowerCase();
  if (ext === '.yaml' || ext === '.yml') return 'yaml';
  if (ext === '.json') return 'json';
  throw new ConfigFileError(`${path}: the file name must end in .yaml, .yml or .json`);
}

/** Parses the text of a configuration file; `source` names it in error messages. */
export function parseConfigText(text: string, format: ConfigFormat, source: string): unknown {
  let value: unknown;
  try {
    value = format === 'json' ? JSON.parse(text) : YAML.parse(text, { schema: 'core', uniqueKeys: true, maxAliasCount: 100 });
  } catch (err) {
    // yaml's messages end with a multi-line excerpt of the source; the first line names the place.
    const first = String((err as Error).message)
      .split('\n')[0]!
      .replace(/:$/, '');
    throw new ConfigFileError(`${source} is not valid ${format === 'json' ? 'JSON' : 'YAML'}: ${first}`);
  }
  if (value === null || value === undefined) throw new ConfigFileError(`${source} is empty`);
  const problem = inspectJson(value, source);
  if (problem) throw new ConfigFileError(problem);
  return value;
}

export async function readConfigFile(path: string): Promise<unknown> {
  const format = formatOfFile(path);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new ConfigFileError(`cannot read ${path}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
  }
  return parseConfigText(text, format, path);
}

/** Copies `value` with object keys in the order `schema` declares them (unknown keys last). */
function ordered(schema: TSchema | undefined, value: unknown): unknown {
  const s = schema as { properties?: Record<string, TSchema>; items?: TSchema; anyOf?: TSchema[] } | undefined;
  if (Array.isArray(value)) return value.map((v) => ordered(s?.items, v));
  if (value === null || typeof value !== 'object') return value;
  const objectSchema = s?.properties ? s : s?.anyOf?.find((v) => (v as { properties?: unknown }).properties);
  const properties = (objectSchema as { properties?: Record<string, TSchema> } | undefined)?.properties ?? {};
  const source = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(properties)) if (key in source) out[key] = ordered(properties[key], source[key]);
  for (const key of Object.keys(source)) if (!(key in out)) out[key] = ordered(undefined, source[key]);
  return out;
}

/**
 * The document with its keys in the order of the schema (PostgreSQL's jsonb keeps its own order),
 * so an export reads like the file that was applied. The values are unchanged.
 */
export function canonicalTenantConfig(doc: TenantConfigDoc): TenantConfigDoc {
  const out = ordered(TenantConfigDoc, doc) as TenantConfigDoc;
  for (const service of out.services ?? []) {
    if (service.options) service.options = ordered(ServiceOptionsSchema, service.options) as Record<string, unknown>;
  }
  return out;
}

/**
 * Writes a document as YAML or JSON. In YAML, lists of scalars and capacity ranges are written on
 * one line, and every string starting with a digit ("08:00", "2026-12-25") or spelling a YAML 1.1
 * boolean (the country code "NO") is quoted, so YAML 1.1 tools (which read 22:00 as the number 1320)
 * see the same values as GES.
 */
export function formatConfig(doc: TenantConfigDoc, format: ConfigFormat): string {
  const value = canonicalTenantConfig(doc);
  if (format === 'json') return `${JSON.stringify(value, null, 2)}\n`;
  const document = new YAML.Document(value);
  YAML.visit(document, {
    Scalar(_key, node) {
      // YAML 1.1 also reads y/n/yes/no/on/off as booleans: Norway's country code NO must stay text.
      if (typeof node.value === 'string' && (/^[0-9]/.test(node.value) || /^(y|n|yes|no|on|off)$/i.test(node.value))) node.type = 'QUOTE_DOUBLE';
    },
    Seq(_key, node) {
      if (node.items.length > 0 && node.items.every((i) => isScalar(i))) node.flow = true;
    },
    Map(_key, node) {
      const keys = node.items.map((p) => (isScalar(p.key) ? p.key.value : undefined));
      if (keys.length === 3 && ['from', 'to', 'capacity'].every((k) => keys.includes(k)) && node.items.every((p) => isScalar(p.value))) node.flow = true;
    },
  });
  return document.toString({ lineWidth: 0, flowCollectionPadding: false });
}

/** The one-line outcome of `ges config apply`. */
export function describeApplyReport(tenant: string, report: ApplyReport): string {
  const n = (count: number, one: string, many: string) => `${count} ${count === 1 ? one : many}`;
  return (
    `configuration of tenant ${tenant} applied${report.tenantCreated ? ' (tenant created)' : ''}: ` +
    `${n(report.businessHours, 'business hours', 'business hours')}, ${n(report.capacityRules, 'capacity rule', 'capacity rules')}, ${n(report.services, 'service', 'services')}` +
    (report.callInGroups > 0 ? `, ${n(report.callInGroups, 'call-in group', 'call-in groups')}` : '') +
    (report.numberRules ? `, ${n(report.numberRules, 'number rule', 'number rules')}` : '') +
    (report.corsOrigins !== undefined ? `, ${n(report.corsOrigins, 'browser origin', 'browser origins')}` : '') +
    (report.captcha !== undefined ? `, CAPTCHA ${report.captcha ? 'set' : 'removed'}` : '')
  );
}
