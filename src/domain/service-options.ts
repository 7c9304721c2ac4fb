import { Type, type Static } from 'typebox';
import { Value } from 'typebox/value';
import { GesError } from './errors.ts';
import { firstSchemaProblem } from './schema-errors.ts';

/**
 * Options of one callback service (one virtual queue). Names follow GES's `_option` names in
 * camelCase (ges-api.md §3.2-3.3); defaults are GES's.
 */
export const ServiceOptionsSchema = Type.Object(
  {
    defaultCountry: Type.String({ pattern: '^[A-Z]{2}$', default: 'US', description: '_default_country: ISO 3166 country for national numbers' }),
    disallowImpossibleNumbers: Type.Boolean({ default: true, description: '_disallow_impossible_phone_numbers' }),
    disallowPremiumNumbers: Type.Boolean({ default: true, description: '_disallow_premium_phone_numbers' }),
    inQueueChecking: Type.Enum(['true', 'strict', 'false'], {
      default: 'true',
      description: '_enable_in_queue_checking: true allows 2 active callbacks per number, strict 1, false no limit',
    }),
    requestsPerNumberPer24h: Type.Integer({ minimum: 0, maximum: 10000, default: 6, description: '_throttle_request_parameters_limit (0: no limit)' }),
    immediateEnabled: Type.Boolean({ default: true, description: '_immediate_enabled' }),
    scheduledEnabled: Type.Boolean({ default: true, description: '_scheduled_enabled' }),
    horizonDays: Type.Integer({ minimum: 1, maximum: 30, default: 14, description: 'How far ahead a scheduled callback may be booked' }),
    minNoticeMinutes: Type.Integer({ minimum: 0, maximum: 10080, default: 0, description: '_min_time_before_callback: how soon a scheduled callback may be' }),
    rejectOutOfHours: Type.Boolean({
      default: false,
      description:
        '_enable_reject_out_of_office_hours: refuse requests outside business hours (scheduled ones for their desired time, immediate ones while closed or in the immediate blackout) instead of booking the next opening',
    }),
    immediateBlackoutMinutes: Type.Integer({
      minimum: 0,
      maximum: 1440,
      default: 0,
      description: '_immediate_blackout: immediate callbacks are not taken this many minutes before closing (treated as out of hours)',
    }),
    alwaysCheckCapacity: Type.Boolean({
      default: false,
      description:
        'Treat every request as if it set alwaysCheckCapacity: a full or closed desired slot is refused (429/400) instead of moved to the next slot with room',
    }),
    slotMinutes: Type.Enum([5, 10, 15, 20, 30, 60, 120], {
      default: 5,
      description: '_request_time_bucket: slot length when the service has no capacity rule',
    }),
    slotCapacity: Type.Integer({
      minimum: 0,
      maximum: 100000,
      default: 100,
      description: '_max_request_by_time_bucket: capacity per slot when the service has no capacity rule',
    }),
    callDirection: Type.Enum(['USERTERMINATED', 'USERORIGINATED'], { default: 'USERTERMINATED', description: '_call_direction' }),
    executionBufferSec: Type.Integer({
      minimum: 0,
      maximum: 3600,
      default: 120,
      description: '_request_execution_time_buffer: a scheduled callback joins its queue this long before its desired time',
    }),
    firstConnectParty: Type.Enum(['CUSTOMER', 'AGENT'], {
      default: 'CUSTOMER',
      description:
        '_userterminated_first_connect_party: CUSTOMER dials the customer first and connects the next free agent on answer; AGENT reserves an agent, then dials',
    }),
    ttlSec: Type.Integer({
      minimum: 60,
      maximum: 1209600,
      default: 86400,
      description: '_ttl: a callback not served this long after its desired time completes FAIL_TIMEOUT_TTL',
    }),
    priorityStepSec: Type.Integer({
      minimum: 0,
      maximum: 3600,
      default: 60,
      description: 'Each priority point moves a callback this much earlier in its queue (docs/ENGINE.md)',
    }),
    retry: Type.Object(
      {
        busy: Type.Object(
          { maxAttempts: Type.Integer({ minimum: 1, maximum: 10, default: 3 }), delaySec: Type.Integer({ minimum: 0, maximum: 86400, default: 300 }) },
          { default: {}, additionalProperties: false },
        ),
        noAnswer: Type.Object(
          { maxAttempts: Type.Integer({ minimum: 1, maximum: 10, default: 3 }), delaySec: Type.Integer({ minimum: 0, maximum: 86400, default: 300 }) },
          { default: {}, additionalProperties: false },
        ),
        machine: Type.Object(
          { maxAttempts: Type.Integer({ minimum: 1, maximum: 10, default: 3 }), delaySec: Type.Integer({ minimum: 0, maximum: 86400, default: 300 }) },
          { default: {}, additionalProperties: false },
        ),
        invalidNumber: Type.Object(
          { maxAttempts: Type.Integer({ minimum: 1, maximum: 10, default: 1 }), delaySec: Type.Integer({ minimum: 0, maximum: 86400, default: 300 }) },
          { default: {}, additionalProperties: false },
        ),
        failed: Type.Object(
          { maxAttempts: Type.Integer({ minimum: 1, maximum: 10, default: 3 }), delaySec: Type.Integer({ minimum: 0, maximum: 86400, default: 60 }) },
          { default: {}, additionalProperties: false },
        ),
        // A fax or a special information tone says the number will not reach a person: one attempt, like an invalid number.
        fax: Type.Object(
          { maxAttempts: Type.Integer({ minimum: 1, maximum: 10, default: 1 }), delaySec: Type.Integer({ minimum: 0, maximum: 86400, default: 300 }) },
          { default: {}, additionalProperties: false },
        ),
        sit: Type.Object(
          { maxAttempts: Type.Integer({ minimum: 1, maximum: 10, default: 1 }), delaySec: Type.Integer({ minimum: 0, maximum: 86400, default: 300 }) },
          { default: {}, additionalProperties: false },
        ),
        // The path failed, not the customer: soon again, as a platform failure.
        networkFailure: Type.Object(
          { maxAttempts: Type.Integer({ minimum: 1, maximum: 10, default: 3 }), delaySec: Type.Integer({ minimum: 0, maximum: 86400, default: 60 }) },
          { default: {}, additionalProperties: false },
        ),
      },
      {
        default: {},
        additionalProperties: false,
        description:
          '_max_dial_attempts / _dial_retry_timeout per dial outcome: attempts in all (the first included) and the pause before the next; an invalid number, a fax and a special information tone fail at once by default',
      },
    ),
    // ---- Context on the call (docs/ENGINE.md, "Context on the call") ----
    attachUdata: Type.Enum(['single_json', 'separate_keys'], {
      default: 'single_json',
      description: '_attach_udata: how userData travels with the call: single_json, one key GES_UserData holding it as JSON; separate_keys, each key its own',
    }),
    routePoint: Type.Optional(
      Type.String({ minLength: 1, maxLength: 255, description: "_route_point: route point of the service's calls; a callback's own routePoint overrides it" }),
    ),
    callerIdNumber: Type.Optional(
      Type.String({
        pattern: '^\\+?[0-9]{1,31}$',
        description: '_calling_party_number (GES: _call_display_number): number the customer sees; absent: the platform default',
      }),
    ),
    callerIdName: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 64,
        description: '_calling_party_display_name (GES: _call_display_name): name the customer sees; absent: the platform default',
      }),
    ),
    dialPrefix: Type.Optional(
      Type.String({ pattern: '^[0-9*#]{1,16}$', description: "_prefix_dial_out: digits dialed before the customer's number for an outside line" }),
    ),
    trunkGroup: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: '_trunk_group: trunk group of outbound calls' })),
    previewKeys: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z_$][A-Za-z0-9_$]{0,127}(,[A-Za-z_$][A-Za-z0-9_$]{0,127}){0,49}$',
        description: '_agent_preview_data: userData keys an agent preview shows, comma-separated, in order (at most 50)',
      }),
    ),
    // ---- Call progress and machines (docs/ENGINE.md, "Call progress and machines") ----
    cpdEnable: Type.Boolean({
      default: true,
      description: '_cpd_enable: call progress detection; false: the platform reports a machine or fax as answered, and it is treated as a person',
    }),
    onMachine: Type.Enum(['RETRY', 'LEAVE_MESSAGE', 'TREAT_AS_ANSWERED'], {
      default: 'RETRY',
      description:
        'GES extension: what an answering machine gets: RETRY, a later attempt (retry.machine); LEAVE_MESSAGE, the machine message, then the callback completes MESSAGE_LEFT; TREAT_AS_ANSWERED, the call goes on as if a person answered',
    }),
    machineMessageId: Type.Optional(
      Type.String({ minLength: 1, maxLength: 128, description: 'GES extension: id of the prompt the platform plays to a machine (onMachine LEAVE_MESSAGE)' }),
    ),
    machineMessageText: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 2000,
        description: "GES extension: text the platform speaks to a machine (onMachine LEAVE_MESSAGE), in the callback's language",
      }),
    ),
    enableDispositionDialog: Type.Boolean({
      default: false,
      description:
        '_enable_disposition_dialog: after a served call the platform shows the agent a disposition dialog (disposition_request); the outcome goes to the history, and CALL_BACK_LATER recreates the callback (docs/ENGINE.md, "Disposition")',
    }),
    agentDispositionTimeoutSec: Type.Integer({
      minimum: 5,
      maximum: 3600,
      default: 45,
      description: '_agent_disposition_timeout: seconds the agent has to record a disposition; none by then is recorded as TIMEOUT',
    }),
    callBackLaterDelaySec: Type.Integer({
      minimum: 0,
      maximum: 1209600,
      default: 3600,
      description:
        'GES extension: a CALL_BACK_LATER disposition without a time asks for the recreated callback this long after the dialog was shown (then moved by the calendar and slot rules)',
    }),
    // ---- Customer confirmation (customer first) and agent preview (docs/ENGINE.md, "Call flows") ----
    userConfirm: Type.Boolean({
      default: false,
      description:
        '_user_confirm_timeout / _on_user_confirm_timeout flow (no _option of its own): customer first, the answered customer hears confirmPrompt and presses 1 before an agent is asked for',
    }),
    userConfirmTimeoutSec: Type.Integer({
      minimum: 1,
      maximum: 120,
      default: 30,
      description: '_user_confirm_timeout: seconds the platform waits for the key press after the prompt',
    }),
    onUserConfirmTimeout: Type.Enum(['CONNECT', 'END'], {
      default: 'CONNECT',
      description:
        "_on_user_confirm_timeout: a customer who declined or did not press in time is connected anyway (CONNECT, the reference's CONNECT-ANYWAY) or hung up on, the callback completing FAIL_USER_NO_CONFIRM (END)",
    }),
    confirmPrompt: Type.String({
      minLength: 1,
      maxLength: 256,
      default: 'ges-confirm-press-1',
      description: 'Prompt the platform plays to ask for the confirmation: a prompt id of the platform, or text for its text-to-speech',
    }),
    agentPreview: Type.Boolean({
      default: false,
      description: '_agent_preview: each agent reserved for a callback previews it and accepts (or rejects) before the customer is dialed or connected',
    }),
    agentPreviewTimeoutSec: Type.Integer({
      minimum: 1,
      maximum: 120,
      default: 30,
      description: '_agent_preview_timeout: seconds an agent has to answer the preview; a preview left unanswered counts as a reject',
    }),
    agentPreviewAllowReject: Type.Boolean({
      default: true,
      description: '_agent_preview_allow_reject: the preview offers a reject button (without it the agent can only accept, or let it time out)',
    }),
    agentRejectRetryTimeoutSec: Type.Integer({
      minimum: 0,
      maximum: 600,
      default: 5,
      description: '_agent_reject_retry_timeout: seconds after a reject before another agent is asked for',
    }),
    maxPreviewRejects: Type.Integer({
      minimum: 1,
      maximum: 9,
      default: 3,
      description: 'Rejects (timeouts included, over all attempts) after which the callback completes AGENT_PREVIEW_CANCEL_AFTER_<n>REJECTS',
    }),
    previewTimeoutSetsNotReady: Type.Boolean({
      default: false,
      description: '_agent_preview_timeout_set_notready: an agent who lets a preview time out is set not ready by the platform',
    }),
    // USERORIGINATED (push) callbacks (docs/ENGINE.md, "Push callbacks"). Read only when callDirection is USERORIGINATED.
    pushNotificationThresholdSec: Type.Integer({
      minimum: 0,
      maximum: 86400,
      default: 0,
      description:
        '_push_notification_threshold: a USERORIGINATED callback is pushed once its estimated wait falls to this many seconds (0: when an agent is free for it)',
    }),
    pushedCallbackExpiryTimeSec: Type.Integer({
      minimum: 10,
      maximum: 86400,
      default: 300,
      description: '_pushed_callback_expiry_time: a push left unanswered this long completes the callback FAIL_USER_NO_CONFIRM',
    }),
    snoozeDurationSec: Type.Integer({
      minimum: 10,
      maximum: 86400,
      default: 300,
      description: '_snooze_duration: a snoozed push callback is out of its queue this long, then offered again at the place it had',
    }),
    waitForUserConfirm: Type.Boolean({
      default: true,
      description:
        '_wait_for_user_confirm: true waits for the app to confirm (or snooze) the push; false proceeds at once as if confirmed (the push only informs)',
    }),
    maxNumberOfUserAvailabilityConfirmationAttempts: Type.Integer({
      minimum: 1,
      maximum: 10,
      default: 3,
      description:
        '_max_number_of_user_availability_confirmation_attempts: pushes in all (the first, then one after each snooze); the last one cannot be snoozed',
    }),
    pushCallInGroup: Type.String({
      maxLength: 100,
      default: '',
      description:
        'GES extension: Click-To-Call-In group whose number and access code a confirmed push callback is given to call; empty: GES dials the customer instead',
    }),
    captcha: Type.Enum(['tenant', 'required', 'off'], {
      default: 'tenant',
      description:
        'No _option of its own in the original (CAPTCHA is provisioned per tenant): tenant checks captchaToken on create when the tenant has a CAPTCHA provider; required always (refused 503 while the tenant has none); off never (a token sent is ignored)',
    }),
  },
  { additionalProperties: false },
);

export type ServiceOptions = Static<typeof ServiceOptionsSchema>;

/** Longest horizon any service may have; storage keeps partitions ready this far ahead. */
export const MAX_HORIZON_DAYS = 30;

/** Applies defaults and validates; a bad option names itself. */
export function parseServiceOptions(input: unknown): ServiceOptions {
  const value = Value.Default(ServiceOptionsSchema, Value.Convert(ServiceOptionsSchema, structuredClone(input ?? {})));
  const problem = firstSchemaProblem(ServiceOptionsSchema, value, 'service options');
  if (problem) throw new GesError('GES_VALIDATION', problem);
  const options = value as ServiceOptions;
  if (options.onMachine === 'LEAVE_MESSAGE' && options.machineMessageId === undefined && options.machineMessageText === undefined)
    throw new GesError('GES_VALIDATION', 'service options: onMachine LEAVE_MESSAGE needs machineMessageId or machineMessageText');
  return options;
}

/** Maximum active callbacks per number in one service, or undefined for no limit. */
export function activeLimit(options: ServiceOptions): number | undefined {
  if (options.inQueueChecking === 'false') return undefined;
  return options.inQueueChecking === 'strict' ? 1 : 2;
}
