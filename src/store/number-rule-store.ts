import type { Queryable } from './db.ts';
import type { NumberRuleDoc } from '../domain/numbers/number-rule.ts';

/**
 * All SQL of the number-rule aggregate: a tenant's number validation rules, each kept as its
 * written form under its name. Which service applies which rule is a column of the service
 * (service-store.ts), as for business hours and capacity rules.
 */

export interface NumberRuleRow {
  id: number;
  name: string;
  definition: NumberRuleDoc;
}

/** Creates the rule or replaces its definition; returns its id. */
export async function upsertNumberRule(db: Queryable, tenantId: number, doc: NumberRuleDoc): Promise<number> {
  const { rows } = await db.query<{ id: number }>(
    `INSERT INTO number_rule (tenant_id, name, definition) VALUES ($1, $2, $3)
     ON CONFLICT (tenant_id, name) DO UPDATE SET definition = EXCLUDED.definition, updated_at = now()
     RETURNING id`,
    [tenantId, doc.name, JSON.stringify(doc)],
  );
  return rows[0]!.id;
}

export async function listNumberRules(db: Queryable, tenantId: number): Promise<NumberRuleRow[]> {
  const { rows } = await db.query<NumberRuleRow>('SELECT id, name, definition FROM number_rule WHERE tenant_id = $1 ORDER BY name', [tenantId]);
  return rows;
}
