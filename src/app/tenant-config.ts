import type pg from 'pg';
import { Type, type Static } from 'typebox';
import { firstSchemaProblem } from '../domain/schema-errors.ts';
import { GesError } from '../domain/errors.ts';
import { BusinessHoursDoc, CapacityRuleDoc, parseBusinessHours, parseCapacityRule } from '../domain/calendar/calendar-config.ts';
import { parseServiceOptions } from '../domain/service-options.ts';
import { withTransaction } from '../store/db.ts';
import { createTenant, findTenantByName } from '../store/tenant-store.ts';
import { listBusinessHours, listCapacityRules, upsertBusinessHours, upsertCapacityRule } from '../store/calendar-store.ts';
import { listServices, upsertService } from '../store/service-store.ts';
import { MAX_SERVICE_NAME_LENGTH } from '../domain/service-name.ts';
import { CallInGroupDoc, callInGroupDoc, parseCallInGroup } from '../domain/call-in/call-in-group.ts';
import { listCallInGroups, sharedCallInNumber, upsertCallInGroup } from '../store/call-in-store.ts';
import { ApiLimitsDoc } from '../domain/api-limits.ts';
import { getTenantApiLimits, setTenantApiLimits } from '../store/tenant-limits-store.ts';
import { NumberRuleDoc, numberRuleDoc, parseNumberRule } from '../domain/numbers/number-rule.ts';
import { listNumberRules, upsertNumberRule } from '../store/number-rule-store.ts';
import { CorsDoc, parseCorsOrigins } from '../domain/cors/origin.ts';
import { listCorsOrigins, replaceCorsOrigins } from '../store/cors-origin-store.ts';
import { MAX_SECRET_CHARS, type TenantSecrets } from './tenant-secrets.ts';
import { PUSH_SECRET_NAME } from './fcm-push-sender.ts';
import { parseServiceAccount } from './google-access-token.ts';
import { CAPTCHA_SECRET_NAME, CaptchaDoc, captchaDoc, parseCaptchaSettings } from '../domain/captcha/captcha-settings.ts';
import { getTenantCaptcha, setTenantCaptcha } from '../store/captcha-store.ts';
import { deleteSecret, getSealedSecret } from '../store/tenant-secret-store.ts';

/**
 * A tenant's declarative configuration: business hours, capacity rules, services, call-in groups, number
 * validation rules and browser origins (CORS), as written in
 * a YAML or JSON file (`ges config apply/export`) or sent to the admin API. Applying is idempotent:
 * named items are created or replaced; items the document does not mention are left alone.
 */
export const TenantConfigDoc = Type.Object(
  {
    tenant: Type.String({ minLength: 1, maxLength: 63, pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$' }),
    businessHours: Type.Optional(Type.Array(BusinessHoursDoc, { maxItems: 1000 })),
    capacityRules: Type.Optional(Type.Array(CapacityRuleDoc, { maxItems: 1000 })),
    services: Type.Optional(
      Type.Array(
        Type.Object(
          {
            name: Type.String({ minLength: 1, maxLength: MAX_SERVICE_NAME_LENGTH, description: 'At most 100 characters: the name is part of URL paths' }),
            businessHours: Type.Optional(
              Type.Union([Type.String({ minLength: 1 }), Type.Null()], { description: 'Business hours name; null or absent: open 24x7 (UTC)' }),
            ),
            capacityRule: Type.Optional(
              Type.Union([Type.String({ minLength: 1 }), Type.Null()], { description: 'Capacity rule name; null or absent: slotMinutes/slotCapacity options' }),
            ),
            numberRule: Type.Optional(
              Type.Union([Type.String({ minLength: 1 }), Type.Null()], {
                description: 'Number validation rule name; null or absent: every number the phone options accept',
              }),
            ),
            options: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
          },
          { additionalProperties: false },
        ),
        { maxItems: 1000 },
      ),
    ),
    callInGroups: Type.Optional(Type.Array(CallInGroupDoc, { maxItems: 1000 })),
    /** The tenant's own API rate limits (docs/API.md "Limits"); null: back to the node defaults; absent: unchanged. */
    apiLimits: Type.Optional(Type.Union([ApiLimitsDoc, Type.Null()])),
    numberRules: Type.Optional(Type.Array(NumberRuleDoc, { maxItems: 1000 })),
    cors: Type.Optional(CorsDoc),
    /**
     * Write-only: the Firebase service-account JSON the tenant's pushes are sent with (USERORIGINATED
     * callbacks, notification/publish), sealed in TenantSecrets; null removes it. Never exported.
     */
    pushServiceAccount: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: MAX_SECRET_CHARS }), Type.Null()])),
    /** CAPTCHA on create (docs/API.md "CAPTCHA"); null: removed with its secret; absent: unchanged. */
    captcha: Type.Optional(Type.Union([CaptchaDoc, Type.Null()])),
  },
  { additionalProperties: false },
);
export type TenantConfigDoc = Static<typeof TenantConfigDoc>;

export interface ApplyReport {
  tenantCreated: boolean;
  businessHours: number;
  capacityRules: number;
  services: number;
  callInGroups: number;
  /** Present when the document has numberRules / cors, so older reports read the same. */
  numberRules?: number;
  corsOrigins?: number;
  /** Present when the document has pushServiceAccount: what was done with it (never the value). */
  pushServiceAccount?: 'set' | 'removed';
  /** Present when the document has captcha: whether the tenant now has a CAPTCHA provider. */
  captcha?: boolean;
}

function duplicates(names: string[], what: string): void {
  const seen = new Set<string>();
  for (const n of names) {
    if (seen.has(n)) throw new GesError('GES_VALIDATION', `${what} ${n} appears twice`);
    seen.add(n);
  }
}

/**
 * Validates the whole document first, then applies it in one transaction: all or nothing.
 * `secrets` seals write-only values (the CAPTCHA secret, pushServiceAccount); without it a document
 * carrying one is refused (GES_SECRET_STORAGE_OFF).
 */
export async function applyTenantConfig(pool: pg.Pool, input: unknown, secrets?: TenantSecrets): Promise<ApplyReport> {
  const problem = firstSchemaProblem(TenantConfigDoc, input, 'config');
  if (problem) throw new GesError('GES_VALIDATION', problem);
  const doc = input as TenantConfigDoc;
  if (typeof doc.pushServiceAccount === 'string') parseServiceAccount(doc.pushServiceAccount);
  if (doc.pushServiceAccount !== undefined && !secrets?.available) {
    throw new GesError('GES_SECRET_STORAGE_OFF', 'pushServiceAccount cannot be stored: this deployment has no TENANT_SECRET_KEY');
  }
  const report = await applyConfigDoc(pool, doc, secrets);
  if (doc.pushServiceAccount !== undefined) {
    // After the document's transaction: the secret store has its own statements (sealed value, one row).
    const tenant = (await findTenantByName(pool, doc.tenant))!;
    if (doc.pushServiceAccount === null) await secrets!.remove(tenant.id, PUSH_SECRET_NAME);
    else await secrets!.put(tenant.id, PUSH_SECRET_NAME, doc.pushServiceAccount);
    report.pushServiceAccount = doc.pushServiceAccount === null ? 'removed' : 'set';
  }
  return report;
}

async function applyConfigDoc(pool: pg.Pool, doc: TenantConfigDoc, secrets: TenantSecrets | undefined): Promise<ApplyReport> {
  doc.businessHours?.forEach((h) => parseBusinessHours(h));
  doc.capacityRules?.forEach((r) => parseCapacityRule(r));
  duplicates(
    (doc.businessHours ?? []).map((h) => h.name),
    'businessHours',
  );
  duplicates(
    (doc.capacityRules ?? []).map((r) => r.name),
    'capacityRule',
  );
  duplicates(
    (doc.services ?? []).map((s) => s.name),
    'service',
  );
  duplicates(
    (doc.callInGroups ?? []).map((g) => g.name),
    'callInGroup',
  );
  const callInGroups = (doc.callInGroups ?? []).map((g) => parseCallInGroup(g));
  duplicates(
    (doc.numberRules ?? []).map((r) => r.name),
    'numberRule',
  );
  const numberRules = (doc.numberRules ?? []).map((r) => parseNumberRule(r));
  const corsOrigins = doc.cors ? parseCorsOrigins(doc.cors) : undefined;
  const captcha = doc.captcha ? parseCaptchaSettings(doc.captcha) : doc.captcha;
  const captchaSecret = doc.captcha?.secret;
  if (captchaSecret !== undefined && !secrets?.available)
    throw new GesError('GES_SECRET_STORAGE_OFF', 'captcha.secret cannot be stored: this deployment has no TENANT_SECRET_KEY');
  const serviceOptions = (doc.services ?? []).map((s) => {
    try {
      return parseServiceOptions(s.options ?? {});
    } catch (err) {
      throw new GesError('GES_VALIDATION', `service ${s.name}: ${(err as Error).message}`);
    }
  });

  return withTransaction(pool, async (tx) => {
    let tenant = await findTenantByName(tx, doc.tenant);
    const tenantCreated = !tenant;
    tenant ??= await createTenant(tx, doc.tenant);
    const hoursIds = new Map((await listBusinessHours(tx, tenant.id)).map((h) => [h.name, h.id]));
    const ruleIds = new Map((await listCapacityRules(tx, tenant.id)).map((r) => [r.name, r.id]));
    for (const h of doc.businessHours ?? []) hoursIds.set(h.name, await upsertBusinessHours(tx, tenant.id, h));
    for (const r of doc.capacityRules ?? []) ruleIds.set(r.name, await upsertCapacityRule(tx, tenant.id, r));
    const numberRuleIds = new Map((await listNumberRules(tx, tenant.id)).map((r) => [r.name, r.id]));
    for (const r of numberRules) numberRuleIds.set(r.name, await upsertNumberRule(tx, tenant.id, numberRuleDoc(r)));
    const services = doc.services ?? [];
    for (let i = 0; i < services.length; i++) {
      const s = services[i]!;
      const ref = (name: string | null | undefined, ids: Map<string, number>, what: string) => {
        if (name === undefined || name === null) return null;
        const id = ids.get(name);
        if (id === undefined) throw new GesError('GES_CONFIG_REFERENCE_UNKNOWN', `service ${s.name}: ${what} ${name} is not defined for tenant ${doc.tenant}`);
        return id;
      };
      await upsertService(tx, tenant.id, s.name, serviceOptions[i]!, {
        businessHoursId: ref(s.businessHours, hoursIds, 'businessHours'),
        capacityRuleId: ref(s.capacityRule, ruleIds, 'capacityRule'),
        numberRuleId: ref(s.numberRule, numberRuleIds, 'numberRule'),
      });
    }
    for (const g of callInGroups) await upsertCallInGroup(tx, tenant.id, g);
    if (doc.apiLimits !== undefined) await setTenantApiLimits(tx, tenant.id, doc.apiLimits);
    // Checked after the upserts, so groups the document does not mention count too.
    const shared = callInGroups.length > 0 ? await sharedCallInNumber(tx, tenant.id) : undefined;
    if (shared)
      throw new GesError(
        'GES_VALIDATION',
        `callInGroup ${shared.groups.join(' and ')}: dnis ${shared.dnis} is in more than one group (a call to it could not tell which group it is for)`,
      );
    if (corsOrigins) await replaceCorsOrigins(tx, tenant.id, corsOrigins);
    if (captcha === null) {
      await setTenantCaptcha(tx, tenant.id, null);
      await deleteSecret(tx, tenant.id, CAPTCHA_SECRET_NAME);
    } else if (captcha) {
      if (captchaSecret !== undefined) await secrets!.put(tenant.id, CAPTCHA_SECRET_NAME, captchaSecret, tx);
      else if (!(await getSealedSecret(tx, tenant.id, CAPTCHA_SECRET_NAME)))
        throw new GesError('GES_VALIDATION', 'captcha: a secret is needed the first time CAPTCHA is configured (captcha.secret, write-only)');
      await setTenantCaptcha(tx, tenant.id, captcha);
    }
    // A service that requires a CAPTCHA of a tenant without one would refuse every create (503).
    if (captcha !== undefined || services.length > 0) {
      const hasCaptcha = captcha === undefined ? (await getTenantCaptcha(tx, tenant.id)) !== undefined : captcha !== null;
      const requiring = hasCaptcha ? [] : (await listServices(tx, tenant.id)).filter((sv) => parseServiceOptions(sv.options).captcha === 'required');
      if (requiring.length > 0)
        throw new GesError('GES_VALIDATION', `service ${requiring[0]!.name}: option captcha is required, but tenant ${doc.tenant} has no captcha provider`);
    }
    return {
      tenantCreated,
      businessHours: doc.businessHours?.length ?? 0,
      capacityRules: doc.capacityRules?.length ?? 0,
      services: services.length,
      callInGroups: callInGroups.length,
      ...(doc.numberRules ? { numberRules: numberRules.length } : {}),
      ...(corsOrigins ? { corsOrigins: corsOrigins.length } : {}),
      ...(captcha !== undefined ? { captcha: captcha !== null } : {}),
    };
  });
}

/** The tenant's configuration in the same form `applyTenantConfig` takes. */
export async function exportTenantConfig(pool: pg.Pool, tenantName: string): Promise<TenantConfigDoc> {
  const tenant = await findTenantByName(pool, tenantName);
  if (!tenant) throw new GesError('GES_VALIDATION', `no tenant named ${tenantName}`);
  const [hours, rules, services, groups, apiLimits, numberRules, origins, captcha] = await Promise.all([
    listBusinessHours(pool, tenant.id),
    listCapacityRules(pool, tenant.id),
    listServices(pool, tenant.id),
    listCallInGroups(pool, tenant.id),
    getTenantApiLimits(pool, tenant.id),
    listNumberRules(pool, tenant.id),
    listCorsOrigins(pool, tenant.id),
    getTenantCaptcha(pool, tenant.id),
  ]);
  return {
    tenant: tenant.name,
    businessHours: hours.map((h) => h.definition),
    capacityRules: rules.map((r) => r.definition),
    services: services.map((s) => ({
      name: s.name,
      businessHours: s.businessHours?.name ?? null,
      capacityRule: s.capacityRule?.name ?? null,
      numberRule: s.numberRule?.name ?? null,
      options: parseServiceOptions(s.options),
    })),
    callInGroups: groups.map(({ id: _id, ...g }) => callInGroupDoc(g)),
    ...(apiLimits ? { apiLimits } : {}),
    // Written only when there are some, so exports of tenants without them read as before.
    ...(numberRules.length > 0 ? { numberRules: numberRules.map((r) => numberRuleDoc(parseNumberRule(r.definition))) } : {}),
    ...(origins.length > 0 ? { cors: { allowedOrigins: origins } } : {}),
    // Never the secret: it stays sealed, and applying this export keeps it.
    ...(captcha ? { captcha: captchaDoc(captcha) } : {}),
  };
}
