import { ServiceOptionsSchema, type ServiceOptions } from '../domain/service-options.ts';

/**
 * The service-options form, generated from the options schema itself so that an option added to
 * src/domain/service-options.ts appears in the console without touching a template. Nested objects
 * (such as retry.busy.maxAttempts) become dotted field names.
 */

export interface OptionField {
  path: string; // e.g. "retry.busy.maxAttempts"
  name: string; // form field name: "opt." + path
  label: string;
  kind: 'boolean' | 'enum' | 'integer' | 'number' | 'string';
  choices: string[];
  min?: number;
  max?: number;
  pattern?: string;
  description: string;
  value: string;
}

interface JsonSchema {
  type?: string;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  pattern?: string;
  description?: string;
  properties?: Record<string, JsonSchema>;
}

function label(path: string): string {
  return path
    .split('.')
    .map((p) => p.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase())
    .join(' › ');
}

function walk(schema: JsonSchema, value: unknown, prefix: string, out: OptionField[]): void {
  for (const [key, s] of Object.entries(schema.properties ?? {})) {
    const path = prefix ? `${prefix}.${key}` : key;
    const v = (value as Record<string, unknown> | undefined)?.[key];
    if (s.type === 'object' && s.properties) {
      walk(s, v, path, out);
      continue;
    }
    const kind: OptionField['kind'] = s.enum
      ? 'enum'
      : s.type === 'boolean'
        ? 'boolean'
        : s.type === 'integer'
          ? 'integer'
          : s.type === 'number'
            ? 'number'
            : 'string';
    out.push({
      path,
      name: `opt.${path}`,
      label: label(path),
      kind,
      choices: kind === 'boolean' ? ['true', 'false'] : (s.enum ?? []).map(String),
      ...(s.minimum !== undefined ? { min: s.minimum } : {}),
      ...(s.maximum !== undefined ? { max: s.maximum } : {}),
      ...(s.pattern !== undefined ? { pattern: s.pattern } : {}),
      description: s.description ?? '',
      value: typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : '', // leaves have no arrays
    });
  }
}

/** The fields of the form, filled with `options`. */
export function optionFields(options: ServiceOptions): OptionField[] {
  const out: OptionField[] = [];
  walk(ServiceOptionsSchema, options, '', out);
  return out;
}

/**
 * The options object from a posted form: each field converted to its schema type; a field left
 * empty is omitted and so takes its default. Validation is left to parseServiceOptions.
 */
export function optionsFromForm(body: Record<string, unknown>): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const f of optionFields({} as ServiceOptions)) {
    const raw = body[f.name];
    const text: unknown = Array.isArray(raw) ? raw[0] : raw;
    if (typeof text !== 'string' || text.trim() === '') continue;
    const t = text.trim();
    let value: unknown = t;
    if (f.kind === 'boolean') value = t === 'true' ? true : t === 'false' ? false : t;
    else if (f.kind === 'integer' || f.kind === 'number' || (f.kind === 'enum' && f.choices.every((c) => /^-?\d+$/.test(c))))
      value = /^-?\d+(\.\d+)?$/.test(t) ? Number(t) : t;
    const keys = f.path.split('.');
    let target = result;
    for (const k of keys.slice(0, -1)) target = (target[k] ??= {}) as Record<string, unknown>;
    target[keys.at(-1)!] = value;
  }
  return result;
}
