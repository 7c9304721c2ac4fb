import type pg from 'pg';
import { GesError } from '../domain/errors.ts';
import { evaluateNumber, parseNumberRule, type NumberDecision, type NumberRule, type NumberRuleDoc } from '../domain/numbers/number-rule.ts';
import { normalizePhone } from '../domain/phone-number.ts';
import { parseServiceOptions } from '../domain/service-options.ts';
import { applyTenantConfig } from './tenant-config.ts';
import { listNumberRules } from '../store/number-rule-store.ts';
import { findService, listServices } from '../store/service-store.ts';
import type { Tenant } from '../store/tenant-store.ts';

export interface NumberRuleView extends NumberRule {
  usedBy: string[];
}

/** What the tester is asked: a number, judged by a rule or as a service would judge it. */
export interface NumberTest {
  number: string;
  target: { kind: 'rule'; name: string; defaultCountry: string } | { kind: 'service'; name: string };
}

export type NumberTestResult =
  | { stage: 'phone'; allowed: false; e164?: undefined; message: string; rule?: undefined }
  | { stage: 'rule'; allowed: boolean; e164: string; decision: NumberDecision; rule: string }
  | { stage: 'no-rule'; allowed: true; e164: string; service: string; rule?: undefined };

/**
 * The console's reads and edits of a tenant's number validation rules, and its "test a number"
 * tool. Edits go through applyTenantConfig, so a rule saved in the console is a rule of the file.
 */
export class NumberRuleConfig {
  constructor(private readonly pool: pg.Pool) {}

  async rules(tenant: Tenant): Promise<NumberRuleView[]> {
    const [rules, services] = await Promise.all([listNumberRules(this.pool, tenant.id), listServices(this.pool, tenant.id)]);
    return rules.map((r) => ({ ...parseNumberRule(r.definition), usedBy: services.filter((s) => s.numberRule?.name === r.name).map((s) => s.name) }));
  }

  async rule(tenant: Tenant, name: string): Promise<NumberRule> {
    const found = (await listNumberRules(this.pool, tenant.id)).find((r) => r.name === name);
    if (!found) throw new GesError('GES_CONSOLE_NOT_FOUND', `no number rule ${JSON.stringify(name.slice(0, 40))} in this tenant`);
    return parseNumberRule(found.definition);
  }

  async save(tenant: Tenant, doc: NumberRuleDoc): Promise<void> {
    await applyTenantConfig(this.pool, { tenant: tenant.name, numberRules: [doc] });
  }

  /** Judges a number; every refusal, the phone checks' included, is an answer, not an error. */
  async test(tenant: Tenant, t: NumberTest): Promise<NumberTestResult> {
    let rule: NumberRule | undefined;
    let phoneRules = { defaultCountry: 'US', disallowImpossibleNumbers: false, disallowPremiumNumbers: false };
    if (t.target.kind === 'service') {
      const service = await findService(this.pool, tenant.id, t.target.name);
      if (!service) throw new GesError('GES_CONSOLE_NOT_FOUND', `no service ${JSON.stringify(t.target.name.slice(0, 100))} in this tenant`);
      phoneRules = parseServiceOptions(service.options);
      rule = service.numberRule ? parseNumberRule(service.numberRule.definition) : undefined;
    } else {
      rule = await this.rule(tenant, t.target.name);
      if (!/^[A-Z]{2}$/.test(t.target.defaultCountry))
        throw new GesError('GES_VALIDATION', 'the country of national numbers is two letters (ISO 3166), e.g. US');
      phoneRules = { ...phoneRules, defaultCountry: t.target.defaultCountry };
    }
    let e164: string;
    try {
      e164 = normalizePhone(t.number, phoneRules);
    } catch (err) {
      if (err instanceof GesError) return { stage: 'phone', allowed: false, message: `${err.code}: ${err.message}` };
      throw err;
    }
    if (!rule) return { stage: 'no-rule', allowed: true, e164, service: t.target.name };
    const decision = evaluateNumber(rule, e164);
    return { stage: 'rule', allowed: decision.allowed, e164, decision, rule: rule.name };
  }
}
