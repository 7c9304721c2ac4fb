import type { Queryable } from './db.ts';
import type { BusinessHoursDoc, CapacityRuleDoc } from '../domain/calendar/calendar-config.ts';

/** All SQL of the calendar aggregate: a tenant's business hours and capacity rules (written form). */

export interface NamedDefinition<T> {
  id: number;
  name: string;
  definition: T;
}

export async function upsertBusinessHours(db: Queryable, tenantId: number, doc: BusinessHoursDoc): Promise<number> {
  const { rows } = await db.query<{ id: number }>(
    `INSERT INTO business_hours (tenant_id, name, definition) VALUES ($1, $2, $3)
     ON CONFLICT (tenant_id, name) DO UPDATE SET definition = EXCLUDED.definition, updated_at = now()
     RETURNING id`,
    [tenantId, doc.name, JSON.stringify(doc)],
  );
  return rows[0]!.id;
}

export async function upsertCapacityRule(db: Queryable, tenantId: number, doc: CapacityRuleDoc): Promise<number> {
  const { rows } = await db.query<{ id: number }>(
    `INSERT INTO capacity_rule (tenant_id, name, definition) VALUES ($1, $2, $3)
     ON CONFLICT (tenant_id, name) DO UPDATE SET definition = EXCLUDED.definition, updated_at = now()
     RETURNING id`,
    [tenantId, doc.name, JSON.stringify(doc)],
  );
  return rows[0]!.id;
}

export async function listBusinessHours(db: Queryable, tenantId: number): Promise<NamedDefinition<BusinessHoursDoc>[]> {
  const { rows } = await db.query<NamedDefinition<BusinessHoursDoc>>('SELECT id, name, definition FROM business_hours WHERE tenant_id = $1 ORDER BY name', [tenantId]);
  return rows;
}

export async function listCapacityRules(db: Queryable, tenantId: number): Promise<NamedDefinition<CapacityRuleDoc>[]> {
  const { rows } = await db.query<NamedDefinition<CapacityRuleDoc>>('SELECT id, name, definition FROM capacity_rule WHERE tenant_id = $1 ORDER BY name', [tenantId]);
  return rows;
}

export async function findBusinessHours(db: Queryable, tenantId: number, name: string): Promise<NamedDefinition<BusinessHoursDoc> | undefined> {
  const { rows } = await db.query<NamedDefinition<BusinessHoursDoc>>('SELECT id, name, definition FROM business_hours WHERE tenant_id = $1 AND name = $2', [tenantId, name]);
  return rows[0];
}

export async function findCapacityRule(db: Queryable, tenantId: number, name: string): Promise<NamedDefinition<CapacityRuleDoc> | undefined> {
  const { rows } = await db.query<NamedDefinition<CapacityRuleDoc>>('SELECT id, name, definition FROM capacity_rule WHERE tenant_id = $1 AND name = $2', [tenantId, name]);
  return rows[0];
}
