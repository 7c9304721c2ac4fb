import type pg from 'pg';
import { GesError } from '../domain/errors.ts';
import { normalizePhone } from '../domain/phone-number.ts';
import { filterUserData } from '../domain/user-data.ts';
import { accessCodeCandidates, cryptoRandomInt, type RandomInt } from '../domain/call-in/access-code.ts';
import { dnisPreference } from '../domain/call-in/dnis-choice.ts';
import { findCallInGroup, insertCallInRequest } from '../store/call-in-store.ts';
import { findService } from '../store/service-store.ts';
import { enforceNumberRule, parseNumberRule } from '../domain/numbers/number-rule.ts';
import type { Tenant } from '../store/tenant-store.ts';

/** The body of POST /call-in/requests/create as the schema admits it. */
export interface CreateCallInInput {
  groupName: string;
  fromPhoneNumber?: string;
  userData?: Record<string, unknown>;
  callbackServiceId?: string;
}

export interface CreatedCallIn {
  id: string;
  toPhoneNumber: string;
  groupName: string;
  expirationTime: Date;
  accessCode: number | undefined;
  fromPhoneNumber: string | undefined;
  callbackServiceId: string | undefined;
  droppedUserDataKeys: string[];
}

/** Told of every call-in request created; metrics count them. */
export interface CallInCreateObserver {
  callInCreated(event: { tenant: string }): void;
}

/** Codes tried per statement, and statements tried, before a group counts as full. */
const CODES_PER_ATTEMPT = 8;
const ATTEMPTS = 3;

/**
 * The Click-To-Call-In use case behind the API (ges-api.md §1.8): checks the request against its
 * group, then has the store create it, number and access code included, in one statement.
 */
export class CallInService {
  constructor(
    private readonly pool: pg.Pool,
    private readonly observer?: CallInCreateObserver,
    /** Randomness of access codes and of the tie-break between numbers; injected by tests. */
    private readonly random: RandomInt = cryptoRandomInt,
  ) {}

  /** `now` replaces the database clock as the time of creation (tests, simulations). */
  async create(tenant: Tenant, input: CreateCallInInput, now?: Date): Promise<CreatedCallIn> {
    const group = await findCallInGroup(this.pool, tenant.id, input.groupName);
    if (!group) throw new GesError('GES_CALLIN_GROUP_UNKNOWN', `groupName ${JSON.stringify(input.groupName)} is not a Click-To-Call-In group of this tenant`);
    const fromNumber = present(input.fromPhoneNumber) ? fromPhone(input.fromPhoneNumber, group.defaultCountry) : undefined;
    if (fromNumber && group.targetService) {
      // The caller's number passes the number rule of the service its call is routed to, as a callback to it would.
      const rule = (await findService(this.pool, tenant.id, group.targetService))?.numberRule;
      enforceNumberRule(rule ? parseNumberRule(rule.definition) : undefined, fromNumber, 'fromPhoneNumber');
    }
    const callbackServiceId = present(input.callbackServiceId) ? input.callbackServiceId : undefined;
    const { kept, dropped } = filterUserData(input.userData);

    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      const created = await insertCallInRequest(this.pool, {
        tenantId: tenant.id,
        groupId: group.id,
        dnisPreference: dnisPreference(group.dnis, this.random),
        accessCodes: group.accessCode ? accessCodeCandidates(group.accessCodeLength, CODES_PER_ATTEMPT, this.random) : undefined,
        expirySeconds: group.expirySeconds,
        fromNumber,
        callbackServiceId,
        userData: kept,
        now,
      });
      if (!created) continue;
      try {
        this.observer?.callInCreated({ tenant: tenant.name });
      } catch {
        /* counting must never fail a committed create */
      }
      return {
        id: created.id,
        toPhoneNumber: created.toNumber,
        groupName: group.name,
        expirationTime: created.expiresAt,
        accessCode: created.accessCode,
        fromPhoneNumber: fromNumber,
        callbackServiceId,
        droppedUserDataKeys: dropped,
      };
    }
    throw new GesError(
      'GES_CALLIN_GROUP_FULL',
      `every number of group ${group.name} has its access codes taken by waiting requests; retry later or lengthen the codes`,
    );
  }
}

/** Clients often send "" for a field they have no value for; that means absent, not invalid. */
function present(value: string | undefined): value is string {
  return value !== undefined && value.trim() !== '';
}

/** The caller's number in E.164; a number that cannot exist is refused, a premium one is not (they call us). */
function fromPhone(raw: string, defaultCountry: string): string {
  try {
    return normalizePhone(raw, { defaultCountry, disallowImpossibleNumbers: true, disallowPremiumNumbers: false });
  } catch (err) {
    if (err instanceof GesError) throw new GesError(err.code, err.message.replace(/^phoneNumber/, 'fromPhoneNumber'));
    throw err;
  }
}
