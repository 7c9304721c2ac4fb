/**
 * What happens to a simulated call over time, once the simulator decided to place, route, bridge
 * or drop it: ringing to its outcome, the answered customer waiting (patience), talking for a
 * drawn handle time, the agent's wrap-up; and the latest event of each call, which is what a
 * repeated or late command is answered with.
 */
import type { CallContext, CallProgress, DialKey, VoiceEvent } from '../voice-port.ts';
import { agentScreen } from './agent-screen.ts';
import type { AgentPool } from './agent-pool.ts';
import { leaveLine, type Agent, type Call, type QueueRuntime } from './contact-floor.ts';
import type { DialLedger } from './dial-ledger.ts';
import type { DialOutcomeDraw } from './dial-outcome-draw.ts';
import type { Prng } from './prng.ts';
import type { SimSession } from './sim-session.ts';
import { secondsToMs } from './simulator-config.ts';
import type { LedgerChange } from './simulator-resume.ts';

export interface CallLifeDeps {
  readonly pool: AgentPool;
  readonly session: SimSession;
  readonly draw: DialOutcomeDraw;
  readonly prng: Prng;
  readonly ledger: DialLedger;
  readonly patienceMs: number;
  /** How long a machine message plays before the platform hangs up. */
  readonly messageMs: number;
  now(): number;
  /** The context the key's commands brought (the latest one), for what the agent sees. */
  contextOf(dialKey: DialKey): CallContext | undefined;
  note(change: LedgerChange): void;
}

export class CallLife {
  /** Calls placed (or routed inbound) and not over. */
  readonly calls = new Map<DialKey, Call>();
  /** The latest event of each key's call (outcome, connected, call_ended; not the answers to reserve or connect). */
  readonly latest = new Map<DialKey, VoiceEvent>();
  readonly #d: CallLifeDeps;

  constructor(deps: CallLifeDeps) {
    this.#d = deps;
  }

  /** The call of the key is connected or over: its latest event, what a late reserve or connect is told. */
  movedOn(dialKey: DialKey): VoiceEvent | undefined {
    const latest = this.latest.get(dialKey);
    if (latest === undefined || latest.type === 'answered') return undefined;
    // A machine kept on the line waits for GES like an answered customer does.
    if (latest.type === 'machine' && this.calls.get(dialKey)?.phase === 'machine') return undefined;
    return latest;
  }

  /** A call waiting on the line for GES: an answered customer, or a machine kept for the next command. */
  static waiting(call: Call): boolean {
    return call.phase === 'answered' || call.phase === 'machine';
  }

  /**
   * Places the outbound call of the key (the ledger already says it is new). `progress` (absent:
   * detect, hang up): without detection a machine or fax is a person to the platform (answered); with
   * `wait` a machine keeps the line, for a message or an agent, until it hangs up itself after the
   * patience time.
   */
  place(dialKey: DialKey, queue: QueueRuntime, phone: string, progress?: CallProgress): void {
    const { draw, ledger, session } = this.#d;
    ledger.markDialed(dialKey);
    this.#d.note({ kind: 'placed', dialKey });
    this.#d.pool.callStarted(dialKey);
    queue.stats.recordDial();
    const drawn = draw.outcome(phone);
    const detect = progress?.detect ?? true;
    const outcome = !detect && (drawn === 'machine' || drawn === 'fax') ? 'answered' : drawn;
    const call: Call = { dialKey, queue, phase: 'ringing', timer: undefined, agent: undefined, connectedAt: 0 };
    this.calls.set(dialKey, call);
    call.timer = session.after(draw.delayMs(drawn), () => {
      call.timer = undefined;
      queue.stats.recordOutcome(outcome);
      ledger.recordOutcome(dialKey, outcome);
      if (outcome === 'answered') {
        call.phase = 'answered';
        call.timer = session.after(this.#d.patienceMs, () => this.#abandon(call));
        this.callEvent({ type: 'answered', dialKey, at: this.#d.now() });
        return;
      }
      if (outcome === 'machine' && progress?.onMachine === 'wait') {
        call.phase = 'machine';
        call.timer = session.after(this.#d.patienceMs, () => this.#abandon(call));
        this.callEvent({ type: 'machine', dialKey, at: this.#d.now() });
        return;
      }
      this.calls.delete(dialKey);
      this.callEvent({ type: outcome, dialKey, at: this.#d.now() });
      this.#over(dialKey);
    });
  }

  /** A routed inbound caller waits in the queue's line until an agent frees up or their patience ends. */
  waitInLine(dialKey: DialKey, queue: QueueRuntime): Call {
    const call: Call = { dialKey, queue, phase: 'answered', timer: undefined, agent: undefined, connectedAt: 0 };
    this.calls.set(dialKey, call);
    return call;
  }

  queueUp(call: Call): void {
    call.queue.inboundLine.push(call);
    call.timer = this.#d.session.after(this.#d.patienceMs, () => this.#abandon(call));
  }

  /**
   * Plays the message to the machine kept on the key's line, then hangs up (`message_left`). A
   * repeat while it plays does nothing; for a call over, its `message_left` or `call_ended` again,
   * anything else is `failed`.
   */
  leaveMessage(dialKey: DialKey): void {
    const call = this.calls.get(dialKey);
    if (call?.phase === 'message') return;
    if (call === undefined || call.phase !== 'machine') {
      // Only an end is told again: a machine already gone told as `machine` would have GES ask again, forever.
      const latest = this.latest.get(dialKey);
      const over = latest?.type === 'message_left' || latest?.type === 'call_ended';
      this.#d.session.emit(over ? latest : { type: 'failed', dialKey, at: this.#d.now() });
      return;
    }
    call.timer?.cancel();
    call.phase = 'message';
    call.timer = this.#d.session.after(this.#d.messageMs, () => {
      this.calls.delete(dialKey);
      this.#d.ledger.recordMessageLeft(dialKey);
      this.callEvent({ type: 'message_left', dialKey, at: this.#d.now() });
      this.#over(dialKey);
    });
  }

  /** Puts a waiting caller (answered outbound, or routed inbound) through to the agent. */
  bridge(call: Call, agent: Agent): void {
    const { pool } = this.#d;
    const dialKey = call.dialKey;
    call.timer?.cancel(); // the patience timer: the customer is now talking
    leaveLine(call);
    pool.take(dialKey, agent);
    // Another agent still held for the key (connect named a free one) is not needed any more.
    pool.free(dialKey);
    pool.setState(agent, 'talking', dialKey);
    call.phase = 'connected';
    call.agent = agent;
    call.connectedAt = this.#d.now();
    call.queue.stats.recordConnected();
    this.#d.ledger.recordConnected(dialKey);
    const screen = agentScreen(agent.id, this.#d.contextOf(dialKey));
    if (screen !== undefined) this.#d.ledger.recordScreen(dialKey, screen);
    this.#d.note({ kind: 'connected', dialKey, at: call.connectedAt });
    this.callEvent({ type: 'connected', dialKey, agentId: agent.id, at: call.connectedAt });
    const handle = call.queue.handleTimeSec;
    const talkMs = Math.max(1, secondsToMs(this.#d.prng.lognormal(handle.mean, handle.sd)));
    call.timer = this.#d.session.after(talkMs, () => this.#hangUp(call));
  }

  /**
   * The answered customer listens to a prompt: their patience waits (the prompt's own timer is the
   * call's timer, so a cancel stops it), and starts again from zero once `decided` has run.
   */
  prompt(call: Call, afterMs: number, decided: () => void): void {
    call.timer?.cancel();
    call.timer = this.#d.session.after(afterMs, () => {
      call.timer = this.#d.session.after(this.#d.patienceMs, () => this.#abandon(call));
      decided();
    });
  }

  /** Drops the key's call without an event (cancel): the customer is hung up on, its agent goes to wrap-up. */
  drop(dialKey: DialKey): void {
    const call = this.calls.get(dialKey);
    if (call === undefined) return;
    call.timer?.cancel();
    leaveLine(call);
    this.calls.delete(dialKey);
    if (CallLife.waiting(call)) call.queue.stats.recordAbandoned();
    if (call.phase === 'connected') this.#endTalk(call);
  }

  /** Emits an event of the key's call and remembers it as the call's latest. */
  callEvent(event: VoiceEvent & { dialKey: DialKey }): void {
    this.latest.set(event.dialKey, event);
    this.#d.note({ kind: 'event', dialKey: event.dialKey, event });
    this.#d.session.emit(event);
  }

  /** The answered customer hangs up without having been connected. */
  #abandon(call: Call): void {
    call.timer?.cancel();
    leaveLine(call);
    this.calls.delete(call.dialKey);
    call.queue.stats.recordAbandoned();
    this.callEvent({ type: 'call_ended', dialKey: call.dialKey, at: this.#d.now(), talkSeconds: 0 });
    this.#over(call.dialKey);
  }

  /** A connected call ends at its handle time. */
  #hangUp(call: Call): void {
    this.calls.delete(call.dialKey);
    const talkSeconds = this.#endTalk(call);
    this.callEvent({ type: 'call_ended', dialKey: call.dialKey, at: this.#d.now(), talkSeconds });
    this.#over(call.dialKey);
  }

  /** The agent of a connected call goes to wrap-up, then ready; returns the talk seconds. */
  #endTalk(call: Call): number {
    const { pool } = this.#d;
    const agent = call.agent!;
    const talkSeconds = (this.#d.now() - call.connectedAt) / 1000;
    const wrapUpSec = agent.queue.wrapUpSec;
    call.queue.stats.recordCompleted(talkSeconds, wrapUpSec);
    if (wrapUpSec === 0) {
      pool.setState(agent, 'free', undefined);
    } else {
      pool.setState(agent, 'wrap_up', call.dialKey);
      this.#d.session.after(secondsToMs(wrapUpSec), () => pool.setState(agent, 'free', undefined));
    }
    return talkSeconds;
  }

  /** The key's call is over (its final event told): an agent still held for it waits for GES's release. */
  #over(dialKey: DialKey): void {
    this.#d.note({ kind: 'over', dialKey });
    this.#d.pool.callGone(dialKey);
  }
}
