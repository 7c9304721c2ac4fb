/**
 * The wire contract between GES and a telephony platform over Redis streams: the JSON Schema of
 * every command and every event, and how one travels in a stream entry. docs/VOICE-CONTRACT.md
 * prints these very schemas (its schema section is generated from this module and a test checks
 * it is current), so a platform team reads exactly what the adapter enforces.
 *
 * Every entry has three fields: `v` (contract version, "2"), `type` (a copy of the body's type,
 * so `redis-cli XRANGE` is readable and a platform can route without parsing) and `data` (the JSON
 * body). Bodies are closed (`additionalProperties: false`): a field added later comes with a new
 * contract version rather than being silently ignored, so a misspelt optional field is caught.
 */
import { Type, type Static, type TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { Value } from 'typebox/value';
import type { DialFailure, VoiceCommand, VoiceEvent } from './voice-port.ts';
import { CALL_CONTEXT_LIMITS, SINGLE_JSON_KEY } from '../domain/call-context.ts';
import { DISPOSITION_NOTE_MAX } from '../domain/disposition.ts';

export { CALL_CONTEXT_LIMITS } from '../domain/call-context.ts';

/**
 * "2": dial, reserve_agent and connect carry the call's `context`, dial its `progress` (call
 * progress detection, what to do on a machine); the command leave_message, the events fax, sit,
 * network_failure and message_left are new. Everything of "1" is unchanged.
 */
export const VOICE_CONTRACT_VERSION = '2';

/** Field names of a stream entry, in the order they are written. */
export const ENTRY_FIELDS = Object.freeze({ version: 'v', type: 'type', data: 'data' } as const);

// ---- Building blocks -----------------------------------------------------------------------------

const Id = (description: string) => Type.String({ minLength: 1, maxLength: 256, description });
const DialKey = Id('The attempt: `<callbackId>:<attempt>` for outbound, `in:<callId>` for a routed inbound call. Idempotency key of every command.');
const Tenant = Id('Tenant (contact center) name, as in GES.');
const Queue = Id('Queue (GES service) name within the tenant.');
const AgentId = Id('Platform agent id.');
const CallId = Id('Platform id of an inbound call, unique per platform.');
const At = Type.Integer({ minimum: 0, description: 'When it happened on the platform, epoch milliseconds.' });
const closed = { additionalProperties: false } as const;
const Cause = Type.Optional(
  Type.String({
    minLength: 1,
    maxLength: 80,
    pattern: '^[A-Za-z0-9 ,.:;()/_+-]*$',
    description:
      'Optional: what the network said, in a few words (e.g. "SIP 486", "ring timeout, CANCEL sent", "customer hung up"); GES keeps it in the callback history beside the step. Never customer data.',
  }),
);

// ---- Context on the call (contract 2) ------------------------------------------------------------

const L = CALL_CONTEXT_LIMITS;

export const CallContextSchema = Type.Object(
  {
    attachedData: Type.Record(Type.String({ minLength: 1, maxLength: L.attachedKeyLength }), Type.Unknown(), {
      maxProperties: L.attachedKeys,
      description: `The callback's userData as its service attaches it (_attach_udata): separate_keys, each userData key its own attached key with its JSON value; single_json, one key ${SINGLE_JSON_KEY} whose value is the userData as a JSON string. At most ${L.attachedKeys} keys of at most ${L.attachedKeyLength} characters, ${L.attachedBytes} bytes as JSON. Holds customer data: a platform must not log it.`,
    }),
    truncated: Type.Optional(
      Type.Boolean({ description: 'true: userData keys that did not fit the bounds were left out (the first keys in order are kept).' }),
    ),
    routePoint: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: L.routePoint,
        description: "Route point of the call: the callback's routePoint, else the service's _route_point.",
      }),
    ),
    language: Type.Optional(
      Type.String({ minLength: 1, maxLength: L.language, description: "Language of prompts to the customer: the callback's language (e.g. en-US)." }),
    ),
    priority: Type.Integer({ description: "The callback's priority (higher is served earlier)." }),
    callerId: Type.Optional(
      Type.Object(
        {
          number: Type.Optional(
            Type.String({ minLength: 1, maxLength: L.callerIdNumber, description: 'Number shown to the customer (_calling_party_number).' }),
          ),
          name: Type.Optional(
            Type.String({ minLength: 1, maxLength: L.callerIdName, description: 'Name shown to the customer (_calling_party_display_name).' }),
          ),
        },
        { ...closed, description: 'Caller id the customer sees; absent: the platform default.' },
      ),
    ),
    dialPrefix: Type.Optional(
      Type.String({ pattern: '^[0-9*#]{1,16}$', description: "Digits dialed before the customer's number for an outside line (_prefix_dial_out)." }),
    ),
    trunkGroup: Type.Optional(Type.String({ minLength: 1, maxLength: L.trunkGroup, description: 'Trunk group of the outbound call (_trunk_group).' })),
    previewKeys: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: L.attachedKeyLength }), {
        maxItems: L.previewKeys,
        description: 'userData keys an agent preview shows, in order (_agent_preview_data); absent when the service names none.',
      }),
    ),
  },
  {
    ...closed,
    title: 'context',
    description:
      "What platform and agent need of the callback, on every dial, reserve_agent and connect GES sends (contract 2). Optional in the schema so a platform's own tools may place test calls without one.",
  },
);

export const CallProgressSchema = Type.Object(
  {
    detect: Type.Boolean({
      description: 'Call progress detection (_cpd_enable): tell machines and faxes from people. false: a machine or fax is reported answered.',
    }),
    onMachine: Type.Union([Type.Literal('hang_up'), Type.Literal('wait')], {
      description:
        'hang_up: report machine and end the call. wait: report machine and keep the line for the next command of the attempt (leave_message; or reserve_agent / connect, as for an answered call; cancel hangs up).',
    }),
  },
  { ...closed, title: 'progress', description: 'Call progress handling of a dial; absent: detect, hang_up (contract 1 behaviour).' },
);

const Context = Type.Optional(CallContextSchema);

// ---- Commands (GES → platform, command stream) ---------------------------------------------------

export const DialCommandSchema = Type.Object(
  {
    type: Type.Literal('dial'),
    dialKey: DialKey,
    tenant: Tenant,
    queue: Queue,
    phone: Type.String({ minLength: 1, maxLength: 64, description: 'Number to call, E.164 as GES stored it.' }),
    agentId: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'Agent-first: the agent reserved for this attempt places the call.' })),
    context: Context,
    progress: Type.Optional(CallProgressSchema),
  },
  {
    ...closed,
    title: 'dial',
    description:
      'Place the outbound call of one attempt. A platform that has seen the dialKey before must not dial again: it answers the repeat with the latest event of that call, or with nothing while the call still rings. A platform that cannot tell (its dial ledger lost) answers failed with reason ledger_lost and does not dial.',
  },
);

export const ConnectCommandSchema = Type.Object(
  {
    type: Type.Literal('connect'),
    dialKey: DialKey,
    agentId: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 256,
        description: 'The agent to bridge to (held for the attempt, or free); absent: the agent held for this dialKey.',
      }),
    ),
    context: Context,
  },
  {
    ...closed,
    title: 'connect',
    description: 'Bridge the answered customer of the attempt to an agent. For a call already connected or over, answered with the latest event of the call.',
  },
);

export const ReserveAgentCommandSchema = Type.Object(
  {
    type: Type.Literal('reserve_agent'),
    dialKey: DialKey,
    tenant: Tenant,
    queue: Queue,
    excludeAgents: Type.Optional(
      Type.Array(AgentId, {
        maxItems: 16,
        description:
          'Agents who rejected this callback in a preview (over all its attempts): the platform never holds one of them for it, even one still held for the dialKey.',
      }),
    ),
    context: Context,
  },
  {
    ...closed,
    title: 'reserve_agent',
    description:
      'Hold a free agent of the queue for the attempt. Answered by where the attempt stands, first match wins, whether or not it is a repeat: the call connected or over, or the attempt cancelled: the latest event of the call (failed once cancelled), no agent held; an agent already held for the dialKey: agent_reserved naming that agent; otherwise a free agent is held (agent_reserved), or no_agent.',
  },
);

export const ReleaseAgentCommandSchema = Type.Object(
  { type: Type.Literal('release_agent'), dialKey: DialKey, agentId: AgentId },
  {
    ...closed,
    title: 'release_agent',
    description:
      'Free the agent held for the attempt. GES sends it for every agent it reserved whenever the attempt ends without that agent being connected (customer busy, no answer, machine, invalid number, fax, sit, network failure, failed; a message left on a machine; abandoned; cancelled; expired; given up by a watchdog). Produces no call event (the agent becomes ready on the presence stream); a release of an agent not held for the dialKey changes nothing.',
  },
);

export const CancelCommandSchema = Type.Object(
  { type: Type.Literal('cancel'), dialKey: DialKey },
  {
    ...closed,
    title: 'cancel',
    description:
      'Abandon the attempt: stop dialing or hang up its call, and free any agent held for it. Produces no event, not even call_ended: GES has finished the attempt before sending it and ignores any event of it still on its way. The dialKey is spent: a later command for it dials nobody and holds no agent.',
  },
);

export const RouteInboundCommandSchema = Type.Object(
  {
    type: Type.Literal('route_inbound'),
    dialKey: DialKey,
    callId: CallId,
    tenant: Tenant,
    queue: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 256,
        description: 'Queue whose next free agent takes the call; absent when GES matched no call-in request (the platform plays its default treatment).',
      }),
    ),
    userData: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'userData of the matched call-in request, attached to the call.' })),
  },
  {
    ...closed,
    title: 'route_inbound',
    description: 'Route an inbound call announced by inbound_call. Keyed `in:<callId>`: its connected / call_ended events carry that dialKey.',
  },
);

export const LeaveMessageCommandSchema = Type.Object(
  {
    type: Type.Literal('leave_message'),
    dialKey: DialKey,
    message: Type.Object(
      {
        id: Type.Optional(Type.String({ minLength: 1, maxLength: L.machineMessageId, description: 'A prompt the platform knows by this id.' })),
        text: Type.Optional(
          Type.String({ minLength: 1, maxLength: L.machineMessageText, description: 'Text for the platform to speak (in the language of the context).' }),
        ),
      },
      {
        ...closed,
        minProperties: 1,
        description: "The service's message (options machineMessageId, machineMessageText): an id, a text, or both (the id wins where the platform knows it).",
      },
    ),
  },
  {
    ...closed,
    title: 'leave_message',
    description:
      'The answering machine of the attempt is on the line (machine reported after a dial with progress.onMachine wait): play the message after the beep, then hang up and answer message_left. A machine gone before the message is answered call_ended (0 talk seconds). A repeat while the message plays changes nothing; for a call over, its message_left or call_ended is told again; for any other call (never a machine kept on the line, cancelled, unknown) the answer is failed, never machine.',
  },
);

export const DispositionRequestCommandSchema = Type.Object(
  {
    type: Type.Literal('disposition_request'),
    dialKey: DialKey,
    timeoutSec: Type.Integer({ minimum: 1, maximum: 3600, description: "Seconds the dialog stays open (the service's agentDispositionTimeoutSec)." }),
  },
  {
    ...closed,
    title: 'disposition_request',
    description:
      "Show the agent who talked on the attempt the disposition dialog. Sent once, after the call_ended with talk time that completed the callback, for services with enableDispositionDialog. The agent's choice comes back as disposition; at timeoutSec the platform closes the dialog and sends nothing (GES records TIMEOUT itself). A repeat for a dialKey already asked shows nothing new; a dialKey whose call never reached an agent is ignored. Produces no other event.",
  },
);

export const ConfirmCustomerCommandSchema = Type.Object(
  {
    type: Type.Literal('confirm_customer'),
    dialKey: DialKey,
    prompt: Type.String({ minLength: 1, maxLength: 256, description: 'Prompt to play: a prompt id of the platform, or text for its text-to-speech.' }),
    timeoutSec: Type.Integer({ minimum: 1, maximum: 120, description: 'How long to wait for the key press after the prompt.' }),
  },
  {
    ...closed,
    title: 'confirm_customer',
    description:
      'Customer first, with confirmation: play the prompt to the answered customer of the attempt and wait for "1". Answered with customer_confirmed, or customer_not_confirmed (another key: declined; nothing in time: timeout). The customer stays on the line either way, waiting for reserve_agent / connect or cancel. A repeat while the prompt plays changes nothing; once decided it is answered with the same outcome; for a call not answered, connected or over, with the latest event of the call (failed if none).',
  },
);

export const PreviewCommandSchema = Type.Object(
  {
    type: Type.Literal('preview'),
    dialKey: DialKey,
    agentId: AgentId,
    timeoutSec: Type.Integer({ minimum: 1, maximum: 120, description: 'How long the agent has to accept (or reject).' }),
    allowReject: Type.Boolean({ description: 'The preview offers a reject button.' }),
    timeoutSetsNotReady: Type.Boolean({ description: 'An agent who lets the preview time out is set not ready (agent_not_ready), and no longer held.' }),
  },
  {
    ...closed,
    title: 'preview',
    description:
      "Show the callback to the agent held for the attempt (agent_reserved) and wait for the agent's answer: preview_accepted, or preview_rejected (why rejected, or timeout). The agent stays held either way: after a reject GES sends release_agent (except a timeout with timeoutSetsNotReady, where the platform has let the agent go not ready itself). The agent not held for the dialKey: no_agent. A repeat while the agent decides changes nothing; once decided it is answered with the same outcome.",
  },
);

export const COMMAND_SCHEMAS = Object.freeze({
  dial: DialCommandSchema,
  connect: ConnectCommandSchema,
  reserve_agent: ReserveAgentCommandSchema,
  release_agent: ReleaseAgentCommandSchema,
  cancel: CancelCommandSchema,
  route_inbound: RouteInboundCommandSchema,
  leave_message: LeaveMessageCommandSchema,
  disposition_request: DispositionRequestCommandSchema,
  confirm_customer: ConfirmCustomerCommandSchema,
  preview: PreviewCommandSchema,
});

// ---- Events (platform → GES) ----------------------------------------------------------------------

export const AnsweredEventSchema = Type.Object(
  { type: Type.Literal('answered'), dialKey: DialKey, at: At, cause: Cause },
  { ...closed, title: 'answered', description: 'The customer picked up; the platform waits for connect.' },
);

const FAILURE_MEANING: Readonly<Record<DialFailure, string>> = {
  busy: 'The line was busy.',
  no_answer: 'Nobody answered before the ring timeout.',
  machine:
    'An answering machine or voicemail took the call (only with detection on). After a dial with progress.onMachine wait the line is kept for the next command; otherwise the call is over.',
  invalid_number: 'The network refused the number.',
  fax: 'A fax machine answered (only with detection on).',
  sit: 'A special information tone: the network says the number is unassigned, disconnected or unreachable (vacant code, intercept, no circuit).',
  network_failure: 'The network or trunk failed to carry the call (no route, congestion, signalling error): nothing of the customer was reached.',
  failed:
    'The command could not be carried out (unknown queue, agent not available, connect to a call never answered), or the call was lost with the platform (reason).',
};

function failureEventSchema<T extends Exclude<DialFailure, 'failed'>>(type: T) {
  return Type.Object(
    { type: Type.Literal(type), dialKey: DialKey, at: At, cause: Cause },
    { ...closed, title: type, description: type === 'machine' ? FAILURE_MEANING[type] : `${FAILURE_MEANING[type]} Ends the attempt.` },
  );
}

export const BusyEventSchema = failureEventSchema('busy');
export const NoAnswerEventSchema = failureEventSchema('no_answer');
export const MachineEventSchema = failureEventSchema('machine');
export const InvalidNumberEventSchema = failureEventSchema('invalid_number');
export const FaxEventSchema = failureEventSchema('fax');
export const SitEventSchema = failureEventSchema('sit');
export const NetworkFailureEventSchema = failureEventSchema('network_failure');
export const MessageLeftEventSchema = Type.Object(
  { type: Type.Literal('message_left'), dialKey: DialKey, at: At },
  { ...closed, title: 'message_left', description: 'Answer to leave_message: the message was played to the machine and the call hung up. Ends the attempt.' },
);
export const FailedEventSchema = Type.Object(
  {
    type: Type.Literal('failed'),
    dialKey: DialKey,
    at: At,
    reason: Type.Optional(
      Type.Union([Type.Literal('platform_restart'), Type.Literal('ledger_lost')], {
        description:
          'Set when the cause is the platform, not the command: platform_restart for a call it had in flight when it went down (reported once it is back), ledger_lost for a dial it refused because it cannot tell whether it placed that call already.',
      }),
    ),
    cause: Cause,
  },
  { ...closed, title: 'failed', description: `${FAILURE_MEANING.failed} Ends the attempt.` },
);

export const AgentReservedEventSchema = Type.Object(
  { type: Type.Literal('agent_reserved'), dialKey: DialKey, agentId: AgentId, at: At },
  { ...closed, title: 'agent_reserved', description: 'Answer to reserve_agent: this agent is held for the attempt.' },
);

export const NoAgentEventSchema = Type.Object(
  { type: Type.Literal('no_agent'), dialKey: DialKey, at: At, cause: Cause },
  { ...closed, title: 'no_agent', description: 'No agent could be held (reserve_agent) or used (connect).' },
);

export const ConnectedEventSchema = Type.Object(
  { type: Type.Literal('connected'), dialKey: DialKey, agentId: AgentId, at: At, cause: Cause },
  { ...closed, title: 'connected', description: 'Customer and agent are talking.' },
);

export const CallEndedEventSchema = Type.Object(
  {
    type: Type.Literal('call_ended'),
    dialKey: DialKey,
    at: At,
    talkSeconds: Type.Number({ minimum: 0, description: 'Seconds customer and agent talked (0 when never connected).' }),
    cause: Cause,
  },
  { ...closed, title: 'call_ended', description: 'The call of the attempt is over.' },
);

export const InboundCallEventSchema = Type.Object(
  {
    type: Type.Literal('inbound_call'),
    callId: CallId,
    tenant: Tenant,
    toNumber: Type.String({ minLength: 1, maxLength: 64, description: 'Number the customer called.' }),
    fromNumber: Type.String({ maxLength: 64, description: 'Caller id (may be empty when withheld).' }),
    digits: Type.Optional(Type.String({ maxLength: 64, description: 'Digits the caller entered (e.g. an access code).' })),
    at: At,
  },
  { ...closed, title: 'inbound_call', description: 'A customer is calling in; GES answers with route_inbound keyed `in:<callId>`.' },
);

export const DispositionEventSchema = Type.Object(
  {
    type: Type.Literal('disposition'),
    dialKey: DialKey,
    agentId: AgentId,
    code: Type.Union(
      [Type.Literal('DONE'), Type.Literal('CALL_BACK_LATER'), Type.Literal('NOT_INTERESTED'), Type.Literal('WRONG_NUMBER'), Type.Literal('OTHER')],
      {
        description:
          'The outcome the agent chose: DONE (resolved), CALL_BACK_LATER (GES recreates the callback as a new scheduled one), NOT_INTERESTED, WRONG_NUMBER, OTHER.',
      },
    ),
    note: Type.Optional(Type.String({ maxLength: DISPOSITION_NOTE_MAX, description: 'Free text the agent typed; kept in the history.' })),
    desiredTime: Type.Optional(
      Type.String({
        maxLength: 40,
        pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,3})?)?(Z|[+-]\\d{2}:\\d{2})$',
        description:
          "CALL_BACK_LATER only (ignored otherwise): when the customer wants the new call, ISO 8601 with an offset or Z. Absent: the service's callBackLaterDelaySec after the dialog was shown.",
      }),
    ),
    at: At,
  },
  {
    ...closed,
    title: 'disposition',
    description:
      'The agent recorded the outcome of a served call (answer to disposition_request), within its timeoutSec. GES records the first outcome of a callback once, however often the event is delivered; one arriving after GES recorded TIMEOUT is ignored.',
  },
);

export const CustomerConfirmedEventSchema = Type.Object(
  { type: Type.Literal('customer_confirmed'), dialKey: DialKey, at: At },
  { ...closed, title: 'customer_confirmed', description: 'Answer to confirm_customer: the customer pressed 1 and waits for an agent.' },
);

export const CustomerNotConfirmedEventSchema = Type.Object(
  {
    type: Type.Literal('customer_not_confirmed'),
    dialKey: DialKey,
    why: Type.Union([Type.Literal('declined'), Type.Literal('timeout')], { description: 'declined: another key; timeout: no key in time.' }),
    at: At,
  },
  {
    ...closed,
    title: 'customer_not_confirmed',
    description: 'Answer to confirm_customer: no confirmation. The customer is still on the line; GES connects anyway or cancels (onUserConfirmTimeout).',
  },
);

export const PreviewAcceptedEventSchema = Type.Object(
  { type: Type.Literal('preview_accepted'), dialKey: DialKey, agentId: AgentId, at: At },
  { ...closed, title: 'preview_accepted', description: 'Answer to preview: the agent takes the callback (still held for the attempt).' },
);

export const PreviewRejectedEventSchema = Type.Object(
  {
    type: Type.Literal('preview_rejected'),
    dialKey: DialKey,
    agentId: AgentId,
    why: Type.Union([Type.Literal('rejected'), Type.Literal('timeout')], { description: 'rejected: the agent refused; timeout: no answer in time.' }),
    at: At,
  },
  {
    ...closed,
    title: 'preview_rejected',
    description: 'Answer to preview: the agent refused the callback, or let the preview time out. GES never offers this callback to this agent again.',
  },
);

/** Events of the event stream: each is handled by one GES node (consumer group). */
export const CALL_EVENT_SCHEMAS = Object.freeze({
  answered: AnsweredEventSchema,
  busy: BusyEventSchema,
  no_answer: NoAnswerEventSchema,
  machine: MachineEventSchema,
  invalid_number: InvalidNumberEventSchema,
  failed: FailedEventSchema,
  agent_reserved: AgentReservedEventSchema,
  no_agent: NoAgentEventSchema,
  connected: ConnectedEventSchema,
  call_ended: CallEndedEventSchema,
  inbound_call: InboundCallEventSchema,
  fax: FaxEventSchema,
  sit: SitEventSchema,
  network_failure: NetworkFailureEventSchema,
  message_left: MessageLeftEventSchema,
  disposition: DispositionEventSchema,
  customer_confirmed: CustomerConfirmedEventSchema,
  customer_not_confirmed: CustomerNotConfirmedEventSchema,
  preview_accepted: PreviewAcceptedEventSchema,
  preview_rejected: PreviewRejectedEventSchema,
});

// ---- Presence (platform → every GES node, presence stream) -----------------------------------------

const presenceFields = { tenant: Tenant, queue: Queue, agentId: AgentId, at: At };

export const AgentReadyEventSchema = Type.Object(
  { type: Type.Literal('agent_ready'), ...presenceFields },
  { ...closed, title: 'agent_ready', description: 'The agent is logged in and free for the queue.' },
);

export const AgentNotReadyEventSchema = Type.Object(
  { type: Type.Literal('agent_not_ready'), ...presenceFields },
  { ...closed, title: 'agent_not_ready', description: 'The agent is no longer free for the queue (reserved, talking, wrap-up, logged out).' },
);

export const PresenceResetSchema = Type.Object(
  { type: Type.Literal('presence_reset'), at: At },
  {
    ...closed,
    title: 'presence_reset',
    description: 'Forget every agent: the platform (re)starts or stops. Written together with deleting the presence hash.',
  },
);

export const PresenceHeartbeatSchema = Type.Object(
  {
    type: Type.Literal('presence_heartbeat'),
    at: At,
    intervalMs: Type.Integer({
      minimum: 100,
      maximum: 600_000,
      description: 'Time to the next heartbeat. Presence counts for 3 intervals after a heartbeat, then reads as no agent.',
    }),
  },
  { ...closed, title: 'presence_heartbeat', description: 'The platform is alive and its presence is current.' },
);

export const PRESENCE_SCHEMAS = Object.freeze({
  agent_ready: AgentReadyEventSchema,
  agent_not_ready: AgentNotReadyEventSchema,
  presence_reset: PresenceResetSchema,
  presence_heartbeat: PresenceHeartbeatSchema,
});

export type CallEvent = Static<(typeof CALL_EVENT_SCHEMAS)[keyof typeof CALL_EVENT_SCHEMAS]>;
export type AgentPresenceEvent = Static<typeof AgentReadyEventSchema> | Static<typeof AgentNotReadyEventSchema>;
export type PresenceEntry = Static<(typeof PRESENCE_SCHEMAS)[keyof typeof PRESENCE_SCHEMAS]>;
type SchemaCommand = Static<(typeof COMMAND_SCHEMAS)[keyof typeof COMMAND_SCHEMAS]>;

// The schemas and the port's types must not drift apart: these fail to compile if they do.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const commandsMatchPort: Same<SchemaCommand, VoiceCommand> = true;
const eventsMatchPort: Same<CallEvent | AgentPresenceEvent, VoiceEvent> = true;
void commandsMatchPort;
void eventsMatchPort;

const PRESENCE_AGENT_TYPES: ReadonlySet<string> = new Set(['agent_ready', 'agent_not_ready']);

/** An event travels on the presence stream (every node) rather than the event stream (one node). */
export function isAgentPresenceEvent(event: VoiceEvent): event is AgentPresenceEvent {
  return PRESENCE_AGENT_TYPES.has(event.type);
}

// ---- Encoding and decoding -----------------------------------------------------------------------

/** A body of one of the three streams, by its `type`. */
type Body = { type: string };

/** The field/value list of XADD for `body` (after the id). */
export function entryFields(body: Body): string[] {
  return [ENTRY_FIELDS.version, VOICE_CONTRACT_VERSION, ENTRY_FIELDS.type, body.type, ENTRY_FIELDS.data, JSON.stringify(body)];
}

export type Decoded<T> = { ok: true; value: T } | { ok: false; reason: string };

/**
 * A checker for one stream's bodies. `reason` of a refusal names the rule broken and the place
 * (a JSON pointer), never a value: entries carry phone numbers and userData, which must not reach
 * the log.
 */
export class ContractDecoder<T extends Body> {
  readonly #schemas: ReadonlyMap<string, TSchema>;
  readonly #checks: ReadonlyMap<string, { Check(value: unknown): boolean }>;
  readonly #rule: ((body: T) => string | undefined) | undefined;

  /** `rule`: what a JSON Schema cannot say (one field derived from another), checked after the schema. */
  constructor(schemas: Readonly<Record<string, TSchema>>, rule?: (body: T) => string | undefined) {
    this.#schemas = new Map(Object.entries(schemas));
    this.#checks = new Map(Object.entries(schemas).map(([type, schema]) => [type, Compile(schema)]));
    this.#rule = rule;
  }

  /** Validates a body already parsed (what a port is about to send or publish). */
  check(body: unknown): Decoded<T> {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return { ok: false, reason: 'body is not a JSON object' };
    const type = (body as { type?: unknown }).type;
    if (typeof type !== 'string') return { ok: false, reason: 'body has no string type' };
    const check = this.#checks.get(type);
    if (check === undefined) return { ok: false, reason: `unknown type ${safeWord(type)}` };
    if (!check.Check(body)) return { ok: false, reason: `${type}: ${firstProblem(this.#schemas.get(type)!, body)}` };
    const broken = this.#rule?.(body as T);
    return broken === undefined ? { ok: true, value: body as T } : { ok: false, reason: `${type}: ${broken}` };
  }

  /** Decodes the fields of a stream entry (`null` when the entry was trimmed away while pending). */
  decode(fields: ReadonlyMap<string, string> | null): Decoded<T> {
    if (fields === null) return { ok: false, reason: 'entry no longer exists (trimmed)' };
    const version = fields.get(ENTRY_FIELDS.version);
    if (version !== VOICE_CONTRACT_VERSION) return { ok: false, reason: `unsupported contract version ${safeWord(version ?? '(none)')}` };
    const data = fields.get(ENTRY_FIELDS.data);
    if (data === undefined) return { ok: false, reason: 'no data field' };
    let body: unknown;
    try {
      body = JSON.parse(data);
    } catch {
      return { ok: false, reason: 'data is not JSON' };
    }
    const checked = this.check(body);
    if (!checked.ok) return checked;
    const type = fields.get(ENTRY_FIELDS.type);
    if (type !== undefined && type !== checked.value.type) return { ok: false, reason: 'type field disagrees with data.type' };
    return checked;
  }
}

/** The one validator of commands: the adapter checks what it sends, every platform stand-in what it takes. */
export const commandDecoder = new ContractDecoder<VoiceCommand>(COMMAND_SCHEMAS, (command) => {
  if (command.type === 'route_inbound' && command.dialKey !== `in:${command.callId}`) return '/dialKey must be "in:" followed by callId';
  if ('context' in command && command.context !== undefined && attachedBytes(command.context.attachedData) > L.attachedBytes)
    return `/context/attachedData must be at most ${L.attachedBytes} bytes as JSON`;
  return undefined;
});

/** Bytes of attached data as it travels (JSON, UTF-8). */
export function attachedBytes(data: Readonly<Record<string, unknown>>): number {
  return Buffer.byteLength(JSON.stringify(data), 'utf8');
}
export const callEventDecoder = new ContractDecoder<CallEvent>(CALL_EVENT_SCHEMAS);
export const presenceDecoder = new ContractDecoder<PresenceEntry>(PRESENCE_SCHEMAS);

function firstProblem(schema: TSchema, value: unknown): string {
  const error = [...Value.Errors(schema, value)][0];
  if (error === undefined) return 'invalid';
  // Messages name the rule (type, bound, required or unknown property), not the value.
  return `${error.instancePath || '/'} ${error.message}`.slice(0, 200);
}

/** A token chosen by the platform, echoed only when it cannot be user data. */
function safeWord(word: string): string {
  return /^[A-Za-z0-9_.-]{1,40}$/.test(word) ? JSON.stringify(word) : '(not shown)';
}
