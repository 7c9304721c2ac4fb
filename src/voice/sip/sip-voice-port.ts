/**
 * VOICE_PLATFORM=sip: GES places and bridges the calls itself (docs/VOICE-SIP.md). Each node's port
 * carries the attempts its own engine dials: the customer's leg goes to the trunk, the agent's leg
 * to the agent's phone (a registered softphone or a fixed URI), both end their media in this node,
 * which plays the prompts, reads the key presses and relays RTP between the two once connected.
 *
 * The voice contract (docs/VOICE-CONTRACT.md) is kept as every adapter keeps it: one call per dial
 * key, ever; a repeated command is answered with where the attempt stands; events are never
 * delivered inside `send`; `cancel` produces no event. Agents and their holds are shared by every
 * node through the SipAgentDirectory (PostgreSQL), so two nodes never ring the same agent for two
 * callbacks, and a hold outlives a dead node only until its lease ends.
 */
import type { Logger } from 'pino';
import { commandDecoder } from '../voice-contract.ts';
import type { CallContext, DialFailure, DialKey, VoiceCommand, VoiceEvent, VoiceEventHandler, VoicePort } from '../voice-port.ts';
import { dialFailureOfSip } from '../../domain/sip-final-response.ts';
import { CallLeg, causeOf, type LegObserver, type RingOutcome } from './call-leg.ts';
import { SipAttempt } from './sip-attempt.ts';
import type { SipAgent, SipAgentDirectory, SipRegistrationBook } from './sip-agent-directory.ts';
import type { RtpEndpoint } from './media/rtp-endpoint.ts';
import type { PromptBook } from './prompt-book.ts';
import type { SipUserAgent } from './signalling/sip-user-agent.ts';
import { customerUri } from './customer-uri.ts';
import { maskUri } from './signalling/mask-uri.ts';

/** How long a hold lasts without renewal, and how often this node renews the holds of its calls. */
const HOLD_LEASE_MS = 60_000;
const RENEW_EVERY_MS = 15_000;

/** The key GES's agents press to accept a preview or confirm a callback; anything else says no. */
const YES_KEY = '1';

export interface SipVoicePortOptions {
  readonly ua: Pick<SipUserAgent, 'invite' | 'start' | 'stop'>;
  readonly openRtp: () => Promise<RtpEndpoint>;
  readonly agents: SipAgentDirectory;
  readonly registrations: Pick<SipRegistrationBook, 'contactOf'>;
  readonly prompts: PromptBook;
  /** SIP_CUSTOMER_URI: the request URI template of customer calls. */
  readonly customerUriTemplate: string;
  readonly outboundProxy?: string;
  readonly trunkAuth?: { username: string; password: string };
  /** Caller id when the service sets none. */
  readonly defaultCallerId: string;
  readonly ringTimeoutMs: number;
  readonly agentRingTimeoutMs: number;
  /** The number rules at the time of the call: a refused number is never dialed (reported invalid_number). */
  readonly numberAllowed?: (tenant: string, queue: string, phone: string) => Promise<boolean>;
  readonly observer?: LegObserver;
  readonly logger: Logger;
  readonly now?: () => number;
}

export class SipVoicePort implements VoicePort {
  /** Calls live in this process: another node's watchdog must not re-send a dial here (voice-port.ts). */
  readonly callsLiveInNode = true;
  readonly #o: SipVoicePortOptions;
  readonly #now: () => number;
  readonly #handlers = new Set<VoiceEventHandler>();
  /** Every dial key this node was asked to dial, ever (since start): a key is never dialed twice. */
  readonly #attempts = new Map<DialKey, SipAttempt>();
  /** Keys cancelled before or after their dial: spent. */
  readonly #cancelled = new Set<DialKey>();
  #renewTimer: NodeJS.Timeout | undefined;
  #offPresence: (() => void) | undefined;
  #running = false;

  constructor(options: SipVoicePortOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  onEvent(handler: VoiceEventHandler): () => void {
    this.#handlers.add(handler);
    return () => this.#handlers.delete(handler);
  }

  availableAgents(tenant: string, queue: string): number {
    return this.#o.agents.available(tenant, queue);
  }

  agentsLoggedIn(tenant: string, queue: string): number {
    return this.#o.agents.signedIn(tenant, queue);
  }

  async start(): Promise<void> {
    await this.#o.agents.start();
    await this.#o.ua.start();
    this.#offPresence = this.#o.agents.onPresence((c) =>
      this.#emit({ type: c.ready ? 'agent_ready' : 'agent_not_ready', tenant: c.tenant, queue: c.queue, agentId: c.login, at: this.#now() }),
    );
    this.#renewTimer = setInterval(() => void this.#renewHolds(), RENEW_EVERY_MS);
    this.#renewTimer.unref();
    this.#running = true;
  }

  /** Hangs up every call this node carries (what a customer hears: docs/VOICE-SIP.md) and lets go of their agents. */
  async stop(): Promise<void> {
    this.#running = false;
    clearInterval(this.#renewTimer);
    this.#offPresence?.();
    for (const attempt of this.#attempts.values()) {
      if (attempt.over) continue;
      const connectedAt = attempt.stage === 'connected' ? attempt.connectedAt : undefined;
      attempt.hangUpAll();
      await this.#releaseHeld(attempt.key);
      if (!attempt.dialed && attempt.agent === undefined) continue;
      // Told now, while the engine still listens (it stops after the voice port), so a node that
      // stops leaves no attempt to the watchdogs of others: a served call completes with its talk
      // time, any other is a platform failure the policy retries, as after a platform restart.
      const at = this.#now();
      const cause = 'GES node stopping';
      await this.#emitSettled(
        connectedAt !== undefined
          ? { type: 'call_ended', dialKey: attempt.key, at, talkSeconds: Math.max(0, Math.round((at - connectedAt) / 1000)), cause }
          : { type: 'failed', dialKey: attempt.key, at, reason: 'platform_restart', cause },
      );
    }
    await this.#o.ua.stop();
    await this.#o.agents.stop();
  }

  async send(command: VoiceCommand): Promise<void> {
    if (!this.#running) throw new Error('SIP voice port is not running');
    const checked = commandDecoder.check(command);
    if (!checked.ok) throw new Error(`invalid voice command: ${checked.reason}`);
    // Carried out after send resolves: no event is ever delivered inside send.
    setImmediate(() => {
      this.#carryOut(command).catch((err: unknown) => {
        this.#o.logger.error({ err, dialKey: command.dialKey, command: command.type }, 'SIP command failed');
        if (command.type !== 'cancel' && command.type !== 'release_agent' && command.type !== 'disposition_request')
          this.#tell(command.dialKey, { type: 'failed', dialKey: command.dialKey, at: this.#now() });
      });
    });
  }

  async #carryOut(command: VoiceCommand): Promise<void> {
    switch (command.type) {
      case 'dial':
        return this.#dial(command.dialKey, command.tenant, command.queue, command.phone, command.agentId, command.context);
      case 'reserve_agent':
        return this.#reserve(command.dialKey, command.tenant, command.queue, command.excludeAgents ?? []);
      case 'connect':
        return this.#connect(command.dialKey, command.agentId);
      case 'release_agent':
        return this.#release(command.dialKey, command.agentId);
      case 'cancel':
        return this.#cancel(command.dialKey);
      case 'confirm_customer':
        return this.#confirm(command.dialKey, command.prompt, command.timeoutSec);
      case 'preview':
        return this.#preview(command.dialKey, command.agentId, command.timeoutSec, command.allowReject, command.timeoutSetsNotReady);
      case 'leave_message':
        return this.#leaveMessage(command.dialKey, command.message.id);
      case 'route_inbound':
        // GES takes no inbound calls over SIP (its listener answers an INVITE 480), so it never announces one.
        return this.#emit({ type: 'failed', dialKey: command.dialKey, at: this.#now() });
      case 'disposition_request':
        // No screen to show it on over SIP: the agent desktop records dispositions (GES then times out to TIMEOUT).
        return;
    }
  }

  // ---- dial -------------------------------------------------------------------------------------

  async #dial(key: DialKey, tenant: string, queue: string, phone: string, agentLogin: string | undefined, context: CallContext | undefined): Promise<void> {
    const known = this.#attempts.get(key);
    if (known?.dialed === true) {
      // One call per key, ever: a repeat is told where the call is, nothing while it rings.
      if (known.latest !== undefined) this.#emit(known.latest);
      return;
    }
    if (this.#cancelled.has(key)) return this.#emit({ type: 'failed', dialKey: key, at: this.#now() });
    // Known without a dial: agent first, the agent was previewed (and may be on the line already).
    const attempt = known ?? new SipAttempt(key);
    attempt.dialed = true;
    attempt.tenant = tenant;
    this.#attempts.set(key, attempt);
    if (this.#o.numberAllowed !== undefined && !(await this.#o.numberAllowed(tenant, queue, phone))) {
      this.#o.logger.warn({ dialKey: key }, 'number refused by the number rules at dial time: not called');
      return this.#tell(key, { type: 'invalid_number', dialKey: key, at: this.#now(), cause: 'refused by the number rules, not dialed' });
    }
    if (agentLogin !== undefined) {
      // Agent first: the agent's phone rings first; the customer is called once the agent is on the line.
      const ready = await this.#agentOnLine(attempt, agentLogin, () => this.#o.agents.hold(tenant, agentLogin, key, HOLD_LEASE_MS));
      if (!ready) return this.#tell(key, { type: 'failed', dialKey: key, at: this.#now(), cause: "agent's phone not reached" });
      if (attempt.over) return;
    }
    const leg = await CallLeg.place(
      this.#o.ua,
      this.#o.openRtp,
      {
        role: 'customer',
        uri: customerUri(this.#o.customerUriTemplate, phone, context?.dialPrefix),
        from: callerIdOf(context, this.#o.defaultCallerId),
        ...(this.#o.outboundProxy ? { outboundProxy: this.#o.outboundProxy } : {}),
        ...(this.#o.trunkAuth ? { auth: this.#o.trunkAuth } : {}),
        ringTimeoutMs: this.#o.ringTimeoutMs,
        headers: { 'X-GES-Dial-Key': key },
      },
      this.#o.observer,
      this.#now,
    );
    attempt.customer = leg;
    if (attempt.over) return leg.hangUp();
    const outcome = await leg.answered;
    if (attempt.over) return leg.hangUp();
    if (!outcome.answered) {
      attempt.hangUpAll();
      return this.#tell(key, { type: failureOf(outcome), dialKey: key, at: this.#now(), cause: sipCause(outcome.failure) });
    }
    attempt.stage = 'answered';
    this.#o.logger.info({ dialKey: key, leg: maskUri(customerUri(this.#o.customerUriTemplate, phone, context?.dialPrefix)) }, 'customer answered');
    void leg.ended.then((by) => this.#legEnded(attempt, 'customer', by));
    this.#tell(key, { type: 'answered', dialKey: key, at: this.#now(), cause: 'SIP 200' });
  }

  // ---- agents -----------------------------------------------------------------------------------

  async #reserve(key: DialKey, tenant: string, queue: string, exclude: readonly string[]): Promise<void> {
    const attempt = this.#attempts.get(key);
    if (attempt !== undefined && (attempt.over || attempt.stage === 'connected')) return this.#emit(attempt.latest ?? this.#failed(key));
    if (this.#cancelled.has(key)) return this.#emit(this.#failed(key));
    const held = await this.#o.agents.heldFor(key);
    if (held !== undefined && exclude.includes(held.login)) await this.#release(key, held.login);
    const agent = await this.#o.agents.reserve(tenant, queue, key, exclude, HOLD_LEASE_MS);
    if (agent === undefined) return this.#emit({ type: 'no_agent', dialKey: key, at: this.#now() });
    this.#emit({ type: 'agent_reserved', dialKey: key, agentId: agent.login, at: this.#now() });
  }

  async #release(key: DialKey, login: string): Promise<void> {
    const attempt = this.#attempts.get(key);
    if (attempt !== undefined && attempt.agentLogin === login && attempt.stage !== 'connected') {
      attempt.agent?.hangUp();
      attempt.agent = undefined;
      attempt.agentLogin = undefined;
    }
    await this.#o.agents.release(key, login);
  }

  /**
   * Rings the agent and waits for the answer. `hold` makes sure the agent is held for this attempt
   * first. An agent who does not answer their phone is set not ready, so GES does not ring them
   * again and again ("redirect on no answer").
   */
  async #agentOnLine(
    attempt: SipAttempt,
    login: string,
    hold: () => Promise<SipAgent | undefined>,
    ringTimeoutMs = this.#o.agentRingTimeoutMs,
  ): Promise<boolean> {
    if (attempt.agent !== undefined && attempt.agentLogin === login && !attempt.agent.over) return true;
    const agent = await hold();
    if (agent === undefined) return false;
    const uri = agent.uri ?? (await this.#o.registrations.contactOf(agent.tenant, agent.login));
    if (uri === undefined) {
      await this.#o.agents.setNotReady(agent.tenant, agent.login, 'phone not registered');
      return false;
    }
    const leg = await CallLeg.place(
      this.#o.ua,
      this.#o.openRtp,
      { role: 'agent', uri, from: { user: 'ges', displayName: 'Callback' }, ringTimeoutMs, headers: { 'X-GES-Dial-Key': attempt.key } },
      this.#o.observer,
      this.#now,
    );
    attempt.agent = leg;
    attempt.agentLogin = login;
    const outcome = await leg.answered;
    if (!outcome.answered) {
      attempt.agent = undefined;
      attempt.agentLogin = undefined;
      if (outcome.failure.kind !== 'cancelled' && !attempt.over)
        await this.#o.agents.setNotReady(agent.tenant, agent.login, `phone did not answer (${causeOf(outcome.failure)})`);
      return false;
    }
    if (attempt.over) {
      leg.hangUp();
      return false;
    }
    void leg.ended.then((by) => this.#legEnded(attempt, 'agent', by));
    return true;
  }

  async #preview(key: DialKey, login: string, timeoutSec: number, allowReject: boolean, timeoutSetsNotReady: boolean): Promise<void> {
    const attempt = this.#attempts.get(key) ?? this.#newAttemptFor(key);
    if (attempt.preview?.login === login) {
      if (attempt.preview.outcome !== undefined) this.#emit(attempt.preview.outcome);
      return;
    }
    const held = await this.#o.agents.heldFor(key);
    if (held === undefined || held.login !== login) return this.#emit({ type: 'no_agent', dialKey: key, at: this.#now() });
    if (attempt.tenant === '') attempt.tenant = held.tenant;
    const entry: { login: string; outcome: VoiceEvent | undefined } = { login, outcome: undefined };
    attempt.preview = entry;
    const deadline = this.#now() + timeoutSec * 1000;
    const decide = async (why: 'accepted' | 'rejected' | 'timeout') => {
      if (attempt.preview !== entry || entry.outcome !== undefined) return;
      const at = this.#now();
      entry.outcome =
        why === 'accepted'
          ? { type: 'preview_accepted', dialKey: key, agentId: login, at }
          : { type: 'preview_rejected', dialKey: key, agentId: login, why, at };
      if (why !== 'accepted') attempt.agent?.hangUp();
      if (why === 'timeout' && timeoutSetsNotReady) {
        await this.#o.agents.setNotReady(held.tenant, login, 'preview timed out');
        await this.#o.agents.release(key, login);
      }
      this.#emit(entry.outcome);
    };
    // The preview is the agent's phone ringing, then a prompt: 1 takes the callback, 2 refuses it.
    const onLine = await this.#agentOnLine(attempt, login, async () => held, timeoutSec * 1000);
    if (!onLine) return decide('timeout');
    const leg = attempt.agent!;
    void leg.rtp.play(await this.#o.prompts.prompt('preview'));
    for (;;) {
      const digit = await leg.nextDigit(Math.max(1, deadline - this.#now()), attempt.abort.signal);
      if (digit === undefined) return decide('timeout');
      if (digit === YES_KEY) {
        leg.rtp.stopPlaying();
        return decide('accepted');
      }
      if (allowReject) return decide('rejected');
      // Without a reject button, another key is not an answer: the agent must take it or let it time out.
    }
  }

  async #connect(key: DialKey, requested: string | undefined): Promise<void> {
    const attempt = this.#attempts.get(key);
    const customer = attempt?.customer;
    if (attempt === undefined || customer === undefined || attempt.stage !== 'answered') return this.#emit(attempt?.latest ?? this.#failed(key));
    const login = requested ?? attempt.agentLogin ?? (await this.#o.agents.heldFor(key))?.login;
    if (login === undefined) return this.#emit({ type: 'no_agent', dialKey: key, at: this.#now() });
    customer.rtp.stopPlaying();
    const onLine = await this.#agentOnLine(attempt, login, async () => {
      const held = await this.#o.agents.heldFor(key);
      if (held?.login === login) return held;
      return this.#o.agents.hold(attempt.tenant, login, key, HOLD_LEASE_MS);
    });
    if (attempt.over || attempt.stage !== 'answered') return;
    if (!onLine) return this.#emit({ type: 'no_agent', dialKey: key, at: this.#now(), cause: "agent's phone not reached" });
    const agent = attempt.agent!;
    agent.rtp.stopPlaying();
    customer.rtp.bridgeTo(agent.rtp);
    attempt.stage = 'connected';
    attempt.connectedAt = this.#now();
    this.#tell(key, { type: 'connected', dialKey: key, agentId: login, at: attempt.connectedAt, cause: 'agent answered, media relayed' });
  }

  // ---- prompts and key presses --------------------------------------------------------------------

  async #confirm(key: DialKey, promptId: string, timeoutSec: number): Promise<void> {
    const attempt = this.#attempts.get(key);
    if (attempt?.confirmation !== undefined) return this.#emit(attempt.confirmation);
    if (attempt?.confirming) return;
    const customer = attempt?.customer;
    if (attempt === undefined || customer === undefined || attempt.stage !== 'answered') return this.#emit(attempt?.latest ?? this.#failed(key));
    attempt.confirming = true;
    this.#o.logger.debug({ dialKey: key }, 'confirmation prompt');
    const prompt = await this.#o.prompts.prompt('confirm', promptId);
    // The timeout runs from the end of the prompt; a key pressed while it plays counts (and stops it).
    const digitWhilePlaying = customer.nextDigit(prompt.durationMs + timeoutSec * 1000, attempt.abort.signal);
    void customer.rtp.play(prompt);
    const digit = await digitWhilePlaying;
    customer.rtp.stopPlaying();
    if (attempt.over) return;
    const at = this.#now();
    attempt.confirmation =
      digit === YES_KEY
        ? { type: 'customer_confirmed', dialKey: key, at }
        : { type: 'customer_not_confirmed', dialKey: key, why: digit === undefined ? 'timeout' : 'declined', at };
    this.#emit(attempt.confirmation);
  }

  async #leaveMessage(key: DialKey, messageId: string | undefined): Promise<void> {
    const attempt = this.#attempts.get(key);
    const customer = attempt?.customer;
    // GES reports no machines over SIP (no detection), so no line was kept for a message: the contract's answer is failed.
    if (attempt === undefined || customer === undefined || attempt.stage !== 'answered') return this.#emit(attempt?.latest ?? this.#failed(key));
    await customer.rtp.play(await this.#o.prompts.prompt('message', messageId));
    if (attempt.over) return;
    attempt.hangUpAll();
    this.#tell(key, { type: 'message_left', dialKey: key, at: this.#now() });
  }

  // ---- ending -------------------------------------------------------------------------------------

  async #cancel(key: DialKey): Promise<void> {
    this.#cancelled.add(key);
    const attempt = this.#attempts.get(key);
    if (attempt !== undefined) {
      attempt.hangUpAll();
      // A late command for the key is told failed: the customer is not waiting any more.
      attempt.latest = this.#failed(key);
    }
    await this.#releaseHeld(key);
  }

  /** A leg hung up from its side or ours: the attempt is over, with the talk time if both were connected. */
  async #legEnded(attempt: SipAttempt, role: 'customer' | 'agent', by: 'remote' | 'local'): Promise<void> {
    if (attempt.over) return;
    if (role === 'agent' && attempt.stage !== 'connected') {
      // The agent hung up before the connection (during the preview, or while the customer waited).
      attempt.agent = undefined;
      attempt.agentLogin = undefined;
      return;
    }
    if (by === 'local') return;
    const connectedAt = attempt.connectedAt;
    const login = attempt.agentLogin;
    attempt.hangUpAll();
    const talkSeconds = connectedAt === undefined ? 0 : Math.max(0, Math.round((this.#now() - connectedAt) / 1000));
    // After a connection the agent is the platform's to free (GES sends no release for a connected agent).
    if (connectedAt !== undefined && login !== undefined) await this.#o.agents.release(attempt.key, login);
    this.#tell(attempt.key, { type: 'call_ended', dialKey: attempt.key, at: this.#now(), talkSeconds, cause: `${role} hung up` });
  }

  async #releaseHeld(key: DialKey): Promise<void> {
    const held = await this.#o.agents.heldFor(key);
    if (held !== undefined) await this.#o.agents.release(key, held.login);
  }

  async #renewHolds(): Promise<void> {
    const live = [...this.#attempts.values()].filter((a) => !a.over).map((a) => a.key);
    if (live.length === 0) return;
    try {
      await this.#o.agents.renew(live, HOLD_LEASE_MS);
    } catch (err) {
      this.#o.logger.warn({ err }, 'renewing agent holds failed; retried at the next round');
    }
  }

  // ---- events -------------------------------------------------------------------------------------

  /** A preview can come before the dial (agent first): the attempt is known from then on. */
  #newAttemptFor(key: DialKey): SipAttempt {
    const attempt = new SipAttempt(key);
    this.#attempts.set(key, attempt);
    return attempt;
  }

  #failed(key: DialKey): VoiceEvent {
    return { type: 'failed', dialKey: key, at: this.#now() };
  }

  /** Emits a call event and remembers it as where the attempt stands. */
  #tell(key: DialKey, event: VoiceEvent): void {
    const attempt = this.#attempts.get(key);
    if (attempt !== undefined) attempt.latest = event;
    this.#emit(event);
  }

  /** Emits and waits until every handler has settled (what stop tells must be handled before it returns). */
  async #emitSettled(event: VoiceEvent): Promise<void> {
    await Promise.allSettled([...this.#handlers].map(async (handler) => handler(event)));
  }

  #emit(event: VoiceEvent): void {
    for (const handler of this.#handlers) {
      try {
        const result = handler(event);
        if (result instanceof Promise) result.catch((err: unknown) => this.#o.logger.error({ err, event: event.type }, 'voice event handler failed'));
      } catch (err) {
        this.#o.logger.error({ err, event: event.type }, 'voice event handler failed');
      }
    }
  }
}

function failureOf(outcome: Extract<RingOutcome, { answered: false }>): DialFailure {
  const why = outcome.failure;
  if (why.kind === 'no_media') return 'network_failure';
  if (why.kind === 'cancelled') return 'failed';
  return dialFailureOfSip(why);
}

/** The failure as the history tells it: the SIP status, or what happened instead of one. */
function sipCause(why: Extract<RingOutcome, { answered: false }>['failure']): string {
  switch (why.kind) {
    case 'final':
      return `SIP ${why.status}`;
    case 'ring_timeout':
      return 'ring timeout, CANCEL sent';
    case 'transport':
      return 'SIP transport failure';
    case 'no_media':
      return 'answered without G.711, hung up';
    case 'cancelled':
      return 'cancelled';
  }
}

function callerIdOf(context: CallContext | undefined, fallback: string): { user: string; displayName?: string } {
  const number = context?.callerId?.number ?? (fallback || 'ges');
  const name = context?.callerId?.name;
  return name === undefined ? { user: number } : { user: number, displayName: name };
}
