import type { Queryable } from './db.ts';
import type { BusinessHoursDoc, CapacityRuleDoc } from '../domain/calendar/calendar-config.ts';

/**
 * All SQL of the calendar aggregate: a tenant's business hours and capacity rules, each kept as its
 * written form under a name. Both tables have the same shape, so one set of statements serves both;
 * the table name comes only from the fixed list below, never from input.
 */

export interface NamedDefinition<T> {
  id: number;
  name: string;
  definition: T;
}

const TABLES = { businessHours: 'business_hours', capacityRule: 'capacity_rule' } as const;
type Kind = keyof typeof TABLES;
type DocOf<K extends Kind> = K extends 'businessHours' ? BusinessHoursDoc : CapacityRuleDoc;

async function upsert<K extends Kind>(db: Queryable, kind: K, tenantId: number, doc: DocOf<K>): Promise<number> {
  const { rows } = await db.query<{ id: number }>(
    `INSERT INTO ${TABLES[kind]} (tenant_id, name, definition) VALUES ($1, $2, $3)
     ON CONFLICT (tenant_id, name) DO UPDATE SET definition = EXCLUDED.definition, updated_at = now()
     RETURNING id`,
    [tenantId, doc.name, JSON.stringify(doc)],
  );
  return rows[0]!.id;
}

async function list<K extends Kind>(db: Queryable, kind: K, tenantId: number, name?: string): Promise<NamedDefinition<DocOf<K>>[]> {
  const { rows } = await db.query<NamedDefinition<DocOf<K>>>(
    `SELECT id, name, definition FROM ${TABLES[kind]} WHERE tenant_id = $1 AND ($2::text IS NULL OR name = $2) ORDER BY name`,
    [tenantId, name ?? null],
  );
  return rows;
}

export const upsertBusinessHours = (db: Queryable, tenantId: number, doc: BusinessHoursDoc) => upsert(db, 'businessHours', tenantId, doc);
export const upsertCapacityRule = (db: Queryable, tenantId: number, doc: CapacityRuleDoc) => upsert(db, 'capacityRule', tenantId, doc);
export const listBusinessHours = (db: Queryable, tenantId: number) => list(db, 'businessHours', tenantId);
export const listCapacityRules = (db: Queryable, tenantId: number) => list(db, 'capacityRule', tenantId);

export async function findBusinessHours(db: Queryable, tenantId: number, name: string): Promise<NamedDefinition<BusinessHoursDoc> | undefined> {
  return (await list(db, 'businessHours', tenantId, name))[0];
}
