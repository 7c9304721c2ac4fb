import type { Queryable } from './db.ts';
import type { ServiceOptions } from '../domain/service-options.ts';
import { checkServiceName } from '../domain/service-name.ts';
import type { BusinessHoursDoc, CapacityRuleDoc } from '../domain/calendar/calendar-config.ts';
import type { NumberRuleDoc } from '../domain/numbers/number-rule.ts';

/** All SQL of the callback-service aggregate (one row per virtual queue of a tenant). */

export interface ServiceRow {
  id: number;
  tenantId: number;
  name: string;
  options: unknown; // validated by parseServiceOptions where it is used
  businessHours: { name: string; definition: BusinessHoursDoc } | null;
  capacityRule: { name: string; definition: CapacityRuleDoc } | null;
  numberRule: { name: string; definition: NumberRuleDoc } | null;
}

/**
 * The SELECT that builds a {@link ServiceRow}, with room for `extra` columns computed per service
 * (availability-read adds the slot counters of a range). Add a WHERE on `s`.
 */
export function serviceSelect(extra = ''): string {
  return `SELECT s.id, s.tenant_id AS "tenantId", s.name, s.options,
       CASE WHEN bh.id IS NULL THEN NULL ELSE jsonb_build_object('name', bh.name, 'definition', bh.definition) END AS "businessHours",
       CASE WHEN cr.id IS NULL THEN NULL ELSE jsonb_build_object('name', cr.name, 'definition', cr.definition) END AS "capacityRule",
       CASE WHEN nr.id IS NULL THEN NULL ELSE jsonb_build_object('name', nr.name, 'definition', nr.definition) END AS "numberRule"${extra ? `,\n       ${extra}` : ''}
  FROM callback_service s
  LEFT JOIN business_hours bh ON bh.id = s.business_hours_id
  LEFT JOIN capacity_rule cr ON cr.id = s.capacity_rule_id
  LEFT JOIN number_rule nr ON nr.id = s.number_rule_id`;
}

const SELECT = serviceSelect();

export interface ServiceLinks {
  businessHoursId?: number | null; // undefined: leave as is; null: none
  capacityRuleId?: number | null;
  numberRuleId?: number | null;
}

/** Creates the service, or replaces its options (and the links given) when it exists: idempotent for config files. */
export async function upsertService(db: Queryable, tenantId: number, name: string, options: ServiceOptions, links: ServiceLinks = {}): Promise<ServiceRow> {
  checkServiceName(name); // every way of creating a service passes here: config file, console, CLI
  const { rows } = await db.query<{ id: number }>(
    `INSERT INTO callback_service (tenant_id, name, options, business_hours_id, capacity_rule_id, number_rule_id)
     VALUES ($1, $2, $3, $4, $5, $8)
     ON CONFLICT (tenant_id, name) DO UPDATE SET options = EXCLUDED.options, updated_at = now(),
       business_hours_id = CASE WHEN $6 THEN EXCLUDED.business_hours_id ELSE callback_service.business_hours_id END,
       capacity_rule_id = CASE WHEN $7 THEN EXCLUDED.capacity_rule_id ELSE callback_service.capacity_rule_id END,
       number_rule_id = CASE WHEN $9 THEN EXCLUDED.number_rule_id ELSE callback_service.number_rule_id END
     RETURNING id`,
    [
      tenantId,
      name,
      JSON.stringify(options),
      links.businessHoursId ?? null,
      links.capacityRuleId ?? null,
      links.businessHoursId !== undefined,
      links.capacityRuleId !== undefined,
      links.numberRuleId ?? null,
      links.numberRuleId !== undefined,
    ],
  );
  return (await serviceById(db, rows[0]!.id))!;
}

export async function serviceById(db: Queryable, id: number): Promise<ServiceRow | undefined> {
  const { rows } = await db.query<ServiceRow>(`${SELECT} WHERE s.id = $1`, [id]);
  return rows[0];
}

export async function findService(db: Queryable, tenantId: number, name: string): Promise<ServiceRow | undefined> {
  const { rows } = await db.query<ServiceRow>(`${SELECT} WHERE s.tenant_id = $1 AND s.name = $2`, [tenantId, name]);
  return rows[0];
}

export async function listServices(db: Queryable, tenantId: number): Promise<ServiceRow[]> {
  const { rows } = await db.query<ServiceRow>(`${SELECT} WHERE s.tenant_id = $1 ORDER BY s.name`, [tenantId]);
  return rows;
}

/** A service named the way the voice platform names queues: tenant name and service name. */
export async function findServiceByNames(db: Queryable, tenantName: string, serviceName: string): Promise<(ServiceRow & { tenantName: string }) | undefined> {
  const { rows } = await db.query<ServiceRow & { tenantName: string }>(
    `${serviceSelect('t.name AS "tenantName"')} JOIN tenant t ON t.id = s.tenant_id WHERE t.name = $1 AND s.name = $2`,
    [tenantName, serviceName],
  );
  return rows[0];
}

/** Every service as the voice platform names its queue: `tenant/service`. */
export async function allServiceQueues(db: Queryable): Promise<{ tenant: string; service: string }[]> {
  const { rows } = await db.query<{ tenant: string; service: string }>(
    'SELECT t.name AS tenant, s.name AS service FROM callback_service s JOIN tenant t ON t.id = s.tenant_id ORDER BY 1, 2',
  );
  return rows;
}
