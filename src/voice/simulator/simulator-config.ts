/**
 * What a ContactCenterSimulator is configured with, its defaults, and the checks that refuse a
 * configuration that could not describe a contact center (negative times, a queue key without a
 * tenant). Settings are resolved once, so the simulator works with plain numbers in milliseconds.
 */
import type { CustomerOutcomes } from './customer-outcomes.ts';
import { DEFAULT_CUSTOMER_OUTCOMES, validateCustomerOutcomes } from './customer-outcomes.ts';

import type { SimDispositionConfig } from './disposition-desk.ts';
import type { Seed } from './prng.ts';
import type { SimClock } from './sim-clock.ts';
import type { LedgerChange, SimulatorResume } from './simulator-resume.ts';

export interface MeanSd {
  mean: number;
  sd: number;
}

export interface SimQueueConfig {
  agents: number;
  /** Talk time of a connected call, seconds (log-normal with this mean and sd). */
  handleTimeSec: MeanSd;
  /** After-call work before the agent is ready again, seconds. Default 0. */
  wrapUpSec?: number;
}

/** An inbound call the simulator announces at `atMs` (epoch ms on the sim clock). */
export interface InboundCallSpec {
  atMs: number;
  tenant: string;
  toNumber: string;
  fromNumber: string;
  digits?: string;
}

export interface ContactCenterSimulatorConfig {
  seed: Seed;
  clock: SimClock;
  /** Keyed `${tenant}/${queue}`. */
  queues: Readonly<Record<string, SimQueueConfig>>;
  /** Outcome probabilities of a dial, summing to 1. Default DEFAULT_CUSTOMER_OUTCOMES. */
  customers?: CustomerOutcomes;
  /** Time from dial to pick-up of answered (and, for timing, machine-free) calls. Default mean 8 s, sd 4 s. */
  timeToAnswerSec?: MeanSd;
  /** How long an unanswered call rings. Default 30 s. */
  ringTimeoutSec?: number;
  /** How long an answered customer waits for `connect` before hanging up. Default 60 s. */
  customerPatienceSec?: number;
  /** Delay between `send` and the command taking effect. Default 0 (next clock step, same instant). */
  commandLatencyMs?: number;
  /** Per-number override of the outcome mix (see mixCustomerOutcomes), e.g. to make a test number always busy. */
  perNumber?: (phone: string) => Partial<CustomerOutcomes> | undefined;
  inboundCalls?: readonly InboundCallSpec[];
  /**
   * The safety net of the contract: an agent held for an attempt with no call in progress for this
   * long is freed, and counted as an expired hold (a release_agent GES owed). Default 600 s.
   */
  holdExpirySec?: number;
  /**
   * Until this instant (sim clock, epoch ms) every dial is refused with `failed`, reason
   * `ledger_lost`, and nothing is dialed: the contract's rule for a platform that lost its ledger.
   */
  refuseDialsUntilMs?: number;
  /** Told of every change of the dial ledger, synchronously, before the change takes effect on a call. */
  onLedgerChange?: (change: LedgerChange) => void;
  /** The ledger of an earlier run (see simulator-resume.ts): its keys are never dialed again. */
  resume?: SimulatorResume;
  /** The agents' disposition dialog (disposition_request): their choices and how long they take (disposition-desk.ts). */
  dispositions?: SimDispositionConfig;
}

export interface SimulatorSettings {
  readonly customers: CustomerOutcomes;
  readonly timeToAnswer: MeanSd;
  readonly ringTimeoutMs: number;
  readonly patienceMs: number;
  readonly latencyMs: number;
  readonly holdExpiryMs: number;
  readonly refuseDialsUntilMs: number;
}

const DEFAULT_TIME_TO_ANSWER: MeanSd = { mean: 8, sd: 4 };
const DEFAULT_RING_TIMEOUT_SEC = 30;
const DEFAULT_PATIENCE_SEC = 60;
const DEFAULT_HOLD_EXPIRY_SEC = 600;

export function resolveSettings(config: ContactCenterSimulatorConfig): SimulatorSettings {
  const customers = { ...(config.customers ?? DEFAULT_CUSTOMER_OUTCOMES) };
  validateCustomerOutcomes(customers);
  const timeToAnswer = { ...(config.timeToAnswerSec ?? DEFAULT_TIME_TO_ANSWER) };
  checkMeanSd(timeToAnswer, 'timeToAnswerSec');
  for (const [key, q] of Object.entries(config.queues)) {
    const slash = key.indexOf('/');
    if (slash <= 0 || slash === key.length - 1) throw new RangeError(`queue key must be "tenant/queue" (got ${JSON.stringify(key)})`);
    if (!Number.isInteger(q.agents) || q.agents < 0) throw new RangeError(`queues["${key}"].agents must be an integer >= 0 (got ${q.agents})`);
    checkMeanSd(q.handleTimeSec, `queues["${key}"].handleTimeSec`);
    nonNegative(q.wrapUpSec ?? 0, `queues["${key}"].wrapUpSec`);
  }
  return {
    customers,
    timeToAnswer,
    ringTimeoutMs: secondsToMs(positive(config.ringTimeoutSec ?? DEFAULT_RING_TIMEOUT_SEC, 'ringTimeoutSec')),
    patienceMs: secondsToMs(positive(config.customerPatienceSec ?? DEFAULT_PATIENCE_SEC, 'customerPatienceSec')),
    latencyMs: nonNegative(config.commandLatencyMs ?? 0, 'commandLatencyMs'),
    holdExpiryMs: secondsToMs(positive(config.holdExpirySec ?? DEFAULT_HOLD_EXPIRY_SEC, 'holdExpirySec')),
    refuseDialsUntilMs: config.refuseDialsUntilMs ?? Number.NEGATIVE_INFINITY,
  };
}

export function secondsToMs(seconds: number): number {
  return Math.round(seconds * 1000);
}

function positive(value: number, what: string): number {
  if (!(value > 0) || !Number.isFinite(value)) throw new RangeError(`${what} must be > 0 (got ${value})`);
  return value;
}

function nonNegative(value: number, what: string): number {
  if (!(value >= 0) || !Number.isFinite(value)) throw new RangeError(`${what} must be >= 0 (got ${value})`);
  return value;
}

function checkMeanSd(value: MeanSd, what: string): void {
  positive(value.mean, `${what}.mean`);
  nonNegative(value.sd, `${what}.sd`);
}
