import { Gauge, type Registry } from 'prom-client';

/**
 * The node's database-health probe as the metrics see it (src/store/database-health.ts): only its
 * last reading, so a scrape runs no SQL and cannot be held by a database that does not answer.
 */
export interface DatabaseHealthSource {
  current(): { up: boolean; pending: readonly string[] | undefined } | undefined;
}

/**
 * Health gauges: the database (from the shared probe's last reading), the pending migrations, and
 * Redis (one PING per scrape, bounded by the caller's check; or as last set by readiness). Besides
 * the ges_*_up gauges, the original's REDIS_CONNECTION and GES_HEALTH (ges-api.md §5.4), which read
 * > 0 when something is wrong, for dashboards and alerts written against it.
 */
export function healthMetrics(registry: Registry, database: DatabaseHealthSource | undefined) {
  const registers = [registry];
  // Unknown until a check has run (prom-client writes NaN as "Nan", which Prometheus reads as NaN):
  // a 0 before the first check would read as "database down".
  const readDatabase = () => {
    const reading = database?.current();
    if (!reading) return;
    databaseUp.set(reading.up ? 1 : 0);
    if (reading.pending) migrationsPending.set(reading.pending.length);
  };
  const databaseUp = new Gauge({
    name: 'ges_database_up',
    help: "1 when the database answered SELECT 1 at the node's last health check (every few seconds, and at each readiness probe), else 0; NaN before any check",
    registers,
    collect: readDatabase,
  });
  const migrationsPending = new Gauge({
    name: 'ges_migrations_pending',
    help: 'Shipped schema migrations not yet applied (NaN until the database has answered once)',
    registers,
    collect: readDatabase,
  });
  databaseUp.set(Number.NaN);
  migrationsPending.set(Number.NaN);

  let redisCheck: (() => Promise<boolean>) | undefined;
  let redisProbe: Promise<void> | undefined;
  let redisIsUp: boolean | undefined;
  // One PING per scrape, shared by the gauges that report it (the registry collects them concurrently).
  const runRedisProbe = (): Promise<void> => {
    if (!redisCheck) return Promise.resolve();
    redisProbe ??= redisCheck()
      .catch(() => false)
      .then(setRedisHealth)
      .finally(() => {
        redisProbe = undefined;
      });
    return redisProbe;
  };
  const redisUp = new Gauge({
    name: 'ges_redis_up',
    help: '1 when Redis answered PING at the last check (scrape or readiness probe), else 0; NaN on a node without Redis',
    registers,
    collect: runRedisProbe,
  });
  redisUp.set(Number.NaN);
  const redisConnection = new Gauge({
    name: 'REDIS_CONNECTION',
    help: 'As in the original GES: 1 when this node uses Redis and Redis did not answer at the last check, else 0',
    registers,
    collect: runRedisProbe,
  });
  redisConnection.set(0);
  const gesHealth = new Gauge({
    name: 'GES_HEALTH',
    help: 'As in the original GES: 1 when something this node needs is unhealthy (database down, migrations pending, or Redis down), else 0; readiness leaves Redis out, this gauge does not',
    registers,
    async collect() {
      await runRedisProbe();
      const reading = database?.current();
      this.set(reading?.up === false || (reading?.pending?.length ?? 0) > 0 || redisIsUp === false ? 1 : 0);
    },
  });
  gesHealth.set(0);

  function setRedisHealth(up: boolean): void {
    redisIsUp = up;
    redisUp.set(up ? 1 : 0);
    redisConnection.set(up ? 0 : 1);
  }
  return {
    /** `ges_redis_up` from a check made elsewhere (the readiness probe). */
    setRedisHealth,
    /** Checks Redis on every scrape for `ges_redis_up` (only a node that uses Redis calls this). */
    watchRedis: (check: () => Promise<boolean>): void => {
      redisCheck = check;
    },
  };
}
