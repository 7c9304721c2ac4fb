import type { ContactCenterSimulator } from '../../src/voice/simulator/contact-center-simulator.ts';
import type { VoiceCommand, VoiceEvent, VoiceEventHandler, VoicePort } from '../../src/voice/voice-port.ts';

/**
 * The simulator as the engine's voice port, with what passes between them kept for the test: the
 * commands GES sent (copies, as sent) and the simulator's events as they reached the engine. A test
 * may withhold commands of some types (it answers them itself with `emit`), hold back events (to
 * deliver them later, or twice, as a redelivery would), and override the free agents presence reports.
 */
export class RecordingPort implements VoicePort {
  readonly sent: VoiceCommand[] = [];
  /** Events of the simulator as they reached the engine (not those a test emits). */
  readonly heard: VoiceEvent[] = [];
  /** Commands of these types are recorded but not passed on: the test answers them. */
  readonly withheld: Set<VoiceCommand['type']>;
  /** Events the simulator sent that `holding` kept from the engine, in order. */
  readonly held: VoiceEvent[] = [];
  /** While set, events it accepts are kept in `held` instead of reaching the engine. */
  holding: ((event: VoiceEvent) => boolean) | undefined;
  /** Free agents reported by presence, when the test overrides the simulator's. */
  presence: number | undefined;
  readonly #handlers = new Set<VoiceEventHandler>();

  constructor(
    readonly sim: ContactCenterSimulator,
    withheld: VoiceCommand['type'][] = [],
  ) {
    this.withheld = new Set(withheld);
  }

  send(command: VoiceCommand): Promise<void> {
    this.sent.push(structuredClone(command));
    return this.withheld.has(command.type) ? Promise.resolve() : this.sim.send(command);
  }

  onEvent(handler: VoiceEventHandler): () => void {
    this.#handlers.add(handler);
    const off = this.sim.onEvent((event) => {
      if (this.holding?.(event)) {
        this.held.push(event);
        return undefined;
      }
      this.heard.push(event);
      return handler(event);
    });
    return () => {
      this.#handlers.delete(handler);
      off();
    };
  }

  /** Delivers an event as if the platform had sent it (again, for a redelivery). */
  async emit(event: VoiceEvent): Promise<void> {
    for (const h of this.#handlers) await h(event);
  }

  availableAgents(tenant: string, queue: string): number {
    return this.presence ?? this.sim.availableAgents(tenant, queue);
  }

  start(): Promise<void> {
    return this.sim.start();
  }

  stop(): Promise<void> {
    return this.sim.stop();
  }
}
