import type { ConsoleConfig } from '../app/console-config.ts';

/**
 * The time zone each tenant's pages are shown in, looked up at most every 30 s per tenant (the
 * guard asks on every request). A failed lookup is forgotten at once, so the next request retries.
 */
export function tenantZones(config: ConsoleConfig, now: () => number): (tenantId: number, tenantName: string) => Promise<string> {
  const zones = new Map<number, { at: number; zone: Promise<string> }>();
  return (tenantId, tenantName) => {
    const hit = zones.get(tenantId);
    if (hit && now() - hit.at < 30_000) return hit.zone;
    const zone = config.zone({ id: tenantId, name: tenantName });
    zone.catch(() => zones.delete(tenantId));
    if (zones.size > 10_000) zones.clear();
    zones.set(tenantId, { at: now(), zone });
    return zone;
  };
}
