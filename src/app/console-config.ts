import type pg from 'pg';
import { GesError } from '../domain/errors.ts';
import type { BusinessHoursDoc, CapacityRuleDoc } from '../domain/calendar/calendar-config.ts';
import { calendarOf } from '../domain/calendar/booking-plan.ts';
import { capacityHeatmap, type HeatDay } from '../domain/calendar/capacity-heatmap.ts';
import { DAY_MS } from '../domain/calendar/time-zone.ts';
import { parseServiceOptions, type ServiceOptions } from '../domain/service-options.ts';
import { applyTenantConfig } from './tenant-config.ts';
import { listBusinessHours, listCapacityRules, type NamedDefinition } from '../store/calendar-store.ts';
import { slotBookings } from '../store/slot-booking-store.ts';
import { findService, listServices, type ServiceRow } from '../store/service-store.ts';
import { addApiKey, generateApiKey, listApiKeys, revokeApiKeys, type Tenant } from '../store/tenant-store.ts';
import { listCallInGroups } from '../store/call-in-store.ts';
import { listNumberRules } from '../store/number-rule-store.ts';
import type { CallInGroup, CallInGroupDoc } from '../domain/call-in/call-in-group.ts';

export interface ServiceView {
  name: string;
  businessHours: string | null;
  capacityRule: string | null;
  numberRule: string | null;
  options: ServiceOptions;
}

export interface ServiceEdit {
  name: string;
  businessHours: string | null;
  capacityRule: string | null;
  numberRule?: string | null;
  options: unknown;
}

/**
 * The console's reads and edits of a tenant's scheduling configuration, call-in groups and API keys. Edits go through
 * the same validation and single transaction as `ges config apply` (applyTenantConfig), so a rule
 * saved in the console is exactly a rule written in a configuration file.
 */
export class ConsoleConfig {
  constructor(private readonly pool: pg.Pool) {}

  businessHours(tenant: Tenant): Promise<NamedDefinition<BusinessHoursDoc>[]> {
    return listBusinessHours(this.pool, tenant.id);
  }

  async saveBusinessHours(tenant: Tenant, doc: BusinessHoursDoc): Promise<void> {
    await applyTenantConfig(this.pool, { tenant: tenant.name, businessHours: [doc] });
  }

  capacityRules(tenant: Tenant): Promise<NamedDefinition<CapacityRuleDoc>[]> {
    return listCapacityRules(this.pool, tenant.id);
  }

  async capacityRule(tenant: Tenant, name: string): Promise<CapacityRuleDoc> {
    const rule = (await listCapacityRules(this.pool, tenant.id)).find((r) => r.name === name);
    if (!rule) throw new GesError('GES_CONSOLE_NOT_FOUND', `no capacity rule ${JSON.stringify(name.slice(0, 100))} in this tenant`);
    return rule.definition;
  }

  async saveCapacityRule(tenant: Tenant, doc: CapacityRuleDoc): Promise<void> {
    await applyTenantConfig(this.pool, { tenant: tenant.name, capacityRules: [doc] });
  }

  async services(tenant: Tenant): Promise<ServiceView[]> {
    return (await listServices(this.pool, tenant.id)).map(view);
  }

  async service(tenant: Tenant, name: string): Promise<ServiceView> {
    const row = await findService(this.pool, tenant.id, name);
    if (!row) throw new GesError('GES_CONSOLE_NOT_FOUND', `no service ${JSON.stringify(name.slice(0, 100))} in this tenant`);
    return view(row);
  }

  /** Creates or replaces a service entry (options not given take their defaults). */
  async saveService(tenant: Tenant, edit: ServiceEdit): Promise<void> {
    await applyTenantConfig(this.pool, { tenant: tenant.name, services: [edit] as never });
  }

  /** Names of the tenant's number rules, for the service form (the rules themselves: NumberRuleConfig). */
  async numberRuleNames(tenant: Tenant): Promise<string[]> {
    return (await listNumberRules(this.pool, tenant.id)).map((r) => r.name);
  }

  async callInGroups(tenant: Tenant): Promise<CallInGroup[]> {
    return (await listCallInGroups(this.pool, tenant.id)).map(({ id: _id, ...g }) => g);
  }

  /** Creates or replaces a Click-To-Call-In group (the same checks as a configuration file). */
  async saveCallInGroup(tenant: Tenant, doc: CallInGroupDoc): Promise<void> {
    await applyTenantConfig(this.pool, { tenant: tenant.name, callInGroups: [doc] });
  }

  /**
   * The zone the console shows times in for this tenant: that of its business hours (the first by
   * name when there are several), UTC when it has none.
   */
  async zone(tenant: Tenant): Promise<string> {
    return (await listBusinessHours(this.pool, tenant.id))[0]?.definition.timeZone ?? 'UTC';
  }

  /** Booked versus total capacity per local hour of a service for `days` days from now. */
  async heatmap(tenant: Tenant, serviceName: string, nowMs: number, days = 14): Promise<{ zone: string; days: HeatDay[] }> {
    const row = await findService(this.pool, tenant.id, serviceName);
    if (!row) throw new GesError('GES_CONSOLE_NOT_FOUND', `no service ${JSON.stringify(serviceName.slice(0, 100))} in this tenant`);
    const cal = calendarOf(row, parseServiceOptions(row.options));
    const booked = await slotBookings(this.pool, row.id, new Date(nowMs - 2 * DAY_MS), new Date(nowMs + (days + 2) * DAY_MS));
    return { zone: cal.hours.timeZone, days: capacityHeatmap(cal, booked, nowMs, days) };
  }

  apiKeys(tenant: Tenant): Promise<{ prefix: string; createdAt: Date; revokedAt: Date | null }[]> {
    return listApiKeys(this.pool, tenant.id);
  }

  /** A new key, returned in clear once; only its hash is stored. */
  async createApiKey(tenant: Tenant): Promise<string> {
    const key = generateApiKey();
    await addApiKey(this.pool, tenant.id, key);
    return key;
  }

  async revokeApiKey(tenant: Tenant, prefix: string): Promise<void> {
    const result = await revokeApiKeys(this.pool, tenant.id, prefix);
    if (result.ambiguous) throw new GesError('GES_VALIDATION', `more than one active key starts with ${prefix}`);
    if (result.revoked === 0) throw new GesError('GES_CONSOLE_NOT_FOUND', `no active API key starts with ${JSON.stringify(prefix.slice(0, 20))}`);
  }
}

function view(row: ServiceRow): ServiceView {
  return {
    name: row.name,
    businessHours: row.businessHours?.name ?? null,
    capacityRule: row.capacityRule?.name ?? null,
    numberRule: row.numberRule?.name ?? null,
    options: parseServiceOptions(row.options),
  };
}
