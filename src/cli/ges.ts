import { Command, InvalidArgumentError, Option } from 'commander';
import { loadConfig, ConfigError, type Config } from '../config/config.ts';
import { startGes } from '../main/server.ts';
import { withDatabase } from './database-session.ts';
import { migrate } from '../store/migrator.ts';
import { API_KEY_PREFIX_LENGTH, addApiKey, createTenant, findTenantByName, generateApiKey, listApiKeys, revokeApiKeys } from '../store/tenant-store.ts';
import { MIN_SECRET_BITS, customApiKeyProblem } from '../domain/api-key-strength.ts';
import { listServices, upsertService } from '../store/service-store.ts';
import { parseServiceOptions } from '../domain/service-options.ts';
import { GesError } from '../domain/errors.ts';
import { printWelcome } from './welcome.ts';
import { exportNumber, forgetNumber } from '../app/data-protection.ts';
import { applyTenantConfig, exportTenantConfig } from '../app/tenant-config.ts';
import { TenantSecrets } from '../app/tenant-secrets.ts';
import { secretBoxFor } from '../main/tenant-secret-key.ts';
import { ConfigFileError, describeApplyReport, formatConfig, readConfigFile, type ConfigFormat } from './config-file.ts';
import { addUserCommands } from './user-commands.ts';
import { addAgentCommands } from './agent-commands.ts';
import { addPurgeCommand } from './purge-command.ts';
import { addRecoverCommand } from './recover-command.ts';
import { addSizingCommand } from './sizing-command.ts';
import { withHotState } from './hot-state-session.ts';

class CliError extends Error {}

function int(name: string) {
  return (value: string) => {
    if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`${name} must be a whole number`);
    return Number(value);
  };
}

async function tenantId(pool: import('pg').Pool, name: string): Promise<number> {
  const tenant = await findTenantByName(pool, name);
  if (!tenant) throw new CliError(`no tenant named ${name}`);
  return tenant.id;
}

/** Seconds an orderly stop may take after SHUTDOWN_DELAY_SEC before the process exits regardless. */
const STOP_GRACE_SEC = 25;

export function buildCli(config: () => Config): Command {
  const program = new Command('ges').description('GES: Engagement Service for contact-center callbacks').showHelpAfterError();

  program
    .command('start')
    .description('start the service (embedded PGlite when DATABASE_URL is not set)')
    .action(async () => {
      const settings = config();
      const ges = await startGes(settings);
      printWelcome(ges);
      const shutdown = (signal: string) => {
        ges.logger.info({ signal }, 'shutting down');
        // One signal must end the process: if something holds the orderly stop (a request or a
        // database answer that never comes), exit anyway once the delay and a grace period are over.
        const deadlineMs = (settings.SHUTDOWN_DELAY_SEC + STOP_GRACE_SEC) * 1000;
        setTimeout(() => {
          ges.logger.error({ seconds: deadlineMs / 1000 }, 'shutdown did not finish in time; exiting');
          process.exit(1);
        }, deadlineMs).unref();
        ges.stop().then(
          () => process.exit(0),
          (err: unknown) => {
            ges.logger.error({ err }, 'shutdown failed');
            process.exit(1);
          },
        );
      };
      process.once('SIGTERM', () => shutdown('SIGTERM'));
      process.once('SIGINT', () => shutdown('SIGINT'));
    });

  program
    .command('migrate')
    .description('apply pending database migrations (under an advisory lock)')
    .action(async () => {
      const applied = await withDatabase(config(), (pool) => migrate(pool), { migrate: false });
      console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
    });

  const tenant = program.command('tenant').description('manage tenants (contact centers)');
  tenant
    .command('create <name>')
    .description('create a tenant')
    .action(async (name: string) => {
      const t = await withDatabase(config(), (pool) => createTenant(pool, name));
      console.log(`tenant ${t.name} created (id ${t.id})`);
    });

  const apikey = program.command('apikey').description('manage API keys (only a hash is stored)');
  apikey
    .command('create <tenant>')
    .description('create an API key and print it once')
    .option(
      '--key <value>',
      `use this key instead of a generated one (at least ${MIN_SECRET_BITS} bits of random secret past its first ${API_KEY_PREFIX_LENGTH} characters)`,
    )
    .action(async (tenantName: string, opts: { key?: string }) => {
      const key = opts.key ?? generateApiKey();
      const weak = opts.key === undefined ? undefined : customApiKeyProblem(key, API_KEY_PREFIX_LENGTH);
      if (weak) throw new CliError(`--key refused: ${weak}`);
      await withDatabase(config(), async (pool) => addApiKey(pool, await tenantId(pool, tenantName), key));
      console.log(key);
      console.error('Store this key now: GES keeps only its hash and cannot show it again.');
    });
  apikey
    .command('revoke <tenant> <keyPrefix>')
    .description('revoke the active key that starts with keyPrefix')
    .action(async (tenantName: string, prefix: string) => {
      const result = await withDatabase(config(), async (pool) => revokeApiKeys(pool, await tenantId(pool, tenantName), prefix));
      if (result.ambiguous) throw new CliError(`more than one active key starts with ${prefix}; give a longer prefix`);
      if (result.revoked === 0) throw new CliError(`no active key of ${tenantName} starts with ${prefix}`);
      console.log(`revoked 1 key of ${tenantName}`);
    });
  apikey
    .command('list <tenant>')
    .description('list keys by prefix')
    .action(async (tenantName: string) => {
      const keys = await withDatabase(config(), async (pool) => listApiKeys(pool, await tenantId(pool, tenantName)));
      for (const k of keys) console.log(`${k.prefix}…  created ${k.createdAt.toISOString()}${k.revokedAt ? `  revoked ${k.revokedAt.toISOString()}` : ''}`);
    });

  addUserCommands(program, config);
  addAgentCommands(program, config);

  const service = program.command('service').description('manage callback services (virtual queues)');
  service
    .command('create <tenant> <serviceName>')
    .description('create a service, or update the options of an existing one')
    .option('--default-country <cc>', 'ISO 3166 country for national numbers', 'US')
    .addOption(
      new Option('--in-queue-checking <mode>', 'active callbacks per number: true (2), strict (1), false (no limit)')
        .choices(['true', 'strict', 'false'])
        .default('true'),
    )
    .option('--requests-per-number <n>', 'callback requests per number per 24 h (0: no limit)', int('--requests-per-number'), 6)
    .option('--horizon-days <n>', 'how far ahead scheduled callbacks may be booked (1-30)', int('--horizon-days'), 14)
    .option('--min-notice-minutes <n>', 'how soon a scheduled callback may be', int('--min-notice-minutes'), 0)
    .option('--reject-out-of-hours', 'refuse off-hours desired times instead of booking the next opening')
    .addOption(
      new Option('--slot-minutes <n>', 'slot length when the service has no capacity rule').choices(['5', '10', '15', '20', '30', '60', '120']).default('5'),
    )
    .option('--slot-capacity <n>', 'capacity per slot when the service has no capacity rule', int('--slot-capacity'), 100)
    .option('--no-immediate', 'refuse immediate callbacks')
    .option('--no-scheduled', 'refuse scheduled callbacks')
    .option('--allow-impossible-numbers', 'accept numbers of impossible length')
    .option('--allow-premium-numbers', 'accept premium-rate numbers')
    .addOption(new Option('--call-direction <dir>', 'who places the call').choices(['USERTERMINATED', 'USERORIGINATED']).default('USERTERMINATED'))
    .action(async (tenantName: string, name: string, o: Record<string, unknown>) => {
      const options = parseServiceOptions({
        defaultCountry: String(o.defaultCountry).toUpperCase(),
        inQueueChecking: o.inQueueChecking,
        requestsPerNumberPer24h: o.requestsPerNumber,
        horizonDays: o.horizonDays,
        immediateEnabled: o.immediate,
        scheduledEnabled: o.scheduled,
        disallowImpossibleNumbers: !o.allowImpossibleNumbers,
        disallowPremiumNumbers: !o.allowPremiumNumbers,
        callDirection: o.callDirection,
        minNoticeMinutes: o.minNoticeMinutes,
        rejectOutOfHours: Boolean(o.rejectOutOfHours),
        slotMinutes: Number(o.slotMinutes),
        slotCapacity: o.slotCapacity,
      });
      const row = await withDatabase(config(), async (pool) => upsertService(pool, await tenantId(pool, tenantName), name, options));
      console.log(`service ${row.name} of ${tenantName} saved: ${JSON.stringify(row.options)}`);
    });
  service
    .command('list <tenant>')
    .description('list services and their options')
    .action(async (tenantName: string) => {
      const rows = await withDatabase(config(), async (pool) => listServices(pool, await tenantId(pool, tenantName)));
      for (const r of rows) console.log(`${r.name}  ${JSON.stringify(r.options)}`);
    });

  const configCmd = program
    .command('config')
    .description('apply or export a tenant configuration file: business hours, capacity rules, services, call-in groups (README "Configuration file")');
  configCmd
    .command('apply <file>')
    .description('create or replace what a .yaml, .yml or .json file names, all or nothing; items it does not mention are left alone')
    .action(async (file: string) => {
      const doc = await readConfigFile(file); // before opening the database: a bad file fails fast
      const settings = config();
      // The node's key seals write-only values (captcha.secret, pushServiceAccount) as the nodes would.
      const report = await withDatabase(settings, (pool) =>
        applyTenantConfig(pool, doc, new TenantSecrets(pool, secretBoxFor(settings, !settings.DATABASE_URL))),
      );
      console.log(describeApplyReport((doc as { tenant: string }).tenant, report));
    });
  configCmd
    .command('export <tenant>')
    .description('print the tenant configuration in the form apply takes')
    .addOption(new Option('--format <format>', 'output format').choices(['yaml', 'json']).default('yaml'))
    .action(async (tenantName: string, opts: { format: ConfigFormat }) => {
      const doc = await withDatabase(config(), (pool) => exportTenantConfig(pool, tenantName));
      process.stdout.write(formatConfig(doc, opts.format));
    });
  const gdpr = program.command('gdpr').description('data-protection requests about one phone number');
  gdpr
    .command('export <tenant> <phone>')
    .description('print every record GES holds about the number, as JSON')
    .option('--country <cc>', 'country for a number given in national format', 'US')
    .action(async (tenantName: string, phone: string, o: { country: string }) => {
      const doc = await withDatabase(config(), (pool) => exportNumber(pool, tenantName, phone, o.country.toUpperCase()));
      process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
    });
  gdpr
    .command('forget <tenant> <phone>')
    .description("erase the number's callbacks, history, userData and call-in requests now, and their ids from Redis (audit-logged by hash)")
    .option('--country <cc>', 'country for a number given in national format', 'US')
    .action(async (tenantName: string, phone: string, o: { country: string }) => {
      const actor = `cli:${process.env.USER ?? 'unknown'}`;
      const cfg = config();
      const result = await withHotState(cfg, (hot) => withDatabase(cfg, (pool) => forgetNumber(pool, tenantName, phone, actor, o.country.toUpperCase(), hot)));
      console.log(
        `erased ${result.erased} callback(s) and ${result.callInRequests} call-in request(s) of ${tenantName}; ` +
          `${result.hotStateEntries} unfinished callback(s) taken out of the hot state; audit subject ${result.subject}`,
      );
    });

  addPurgeCommand(program, config);
  addRecoverCommand(program, config);
  addSizingCommand(program);
  return program;
}

/** Entry point used by bin/ges.mjs. Errors end the process with a one-line message, not a stack. */
export async function runCli(argv: string[]): Promise<void> {
  let config: Config | undefined;
  const getConfig = () => (config ??= loadConfig());
  try {
    await buildCli(getConfig).parseAsync(argv);
  } catch (err) {
    const e = err as { code?: string; detail?: string; message?: string };
    if (err instanceof ConfigError || err instanceof CliError || err instanceof GesError || err instanceof ConfigFileError) console.error(`ges: ${e.message}`);
    else if (e.code === '23505') console.error(`ges: already exists${e.detail ? ` (${e.detail})` : ''}`);
    else if (e.code === '23514') console.error(`ges: refused by a database check: ${e.message}`);
    else console.error(`ges: ${e.message ?? String(err)}`);
    process.exitCode = 1;
  }
}
