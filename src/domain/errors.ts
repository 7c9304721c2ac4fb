/**
 * The one table of GES error codes. Each code is stable and never reused; docs/ERRORS.md mirrors
 * this table (a test keeps the two in step). `http` is the HTTP status and, as GES clients expect,
 * also the numeric `status.code` of the response envelope.
 */
export const ERRORS = Object.freeze({
  GES_VALIDATION: { http: 400, summary: 'The request body, path or query does not match the schema; the message names the field.' },
  GES_BAD_JSON: { http: 400, summary: 'The body is not valid JSON.' },
  GES_CCID_HEADER_REFUSED: { http: 400, summary: 'A non-empty ccid or ContactCenterID header was sent; the tenant comes from the API key alone.' },
  GES_SERVICE_UNKNOWN: { http: 400, summary: 'serviceName is not a callback service of this tenant.' },
  GES_CALLIN_GROUP_UNKNOWN: { http: 400, summary: 'groupName is not a Click-To-Call-In group of this tenant.' },
  GES_PHONE_INVALID: { http: 400, summary: 'phoneNumber cannot be parsed, or is impossible for its country and the service refuses impossible numbers.' },
  GES_PHONE_PREMIUM: { http: 400, summary: 'phoneNumber is a premium-rate number and the service refuses them.' },
  GES_PHONE_NOT_PERMITTED: {
    http: 400,
    summary:
      'phoneNumber (or a call-in fromPhoneNumber) is refused by the number validation rule of the service: a blocked number or prefix, or a country the rule does not allow.',
  },
  GES_DESIRED_TIME_INVALID: { http: 400, summary: 'desiredTime is not an ISO 8601 instant with Z or an offset.' },
  GES_DESIRED_TIME_PAST: { http: 400, summary: 'desiredTime lies in the past (beyond the clock tolerance).' },
  GES_DESIRED_TIME_TOO_SOON: { http: 400, summary: 'desiredTime is sooner than the service minimum notice.' },
  GES_OUTSIDE_BUSINESS_HOURS: {
    http: 400,
    summary:
      'desiredTime is outside business hours (or an immediate request came while closed or in the immediate blackout) and the service or alwaysCheckCapacity refuses off-hours requests, or there is no opening within its horizon.',
  },
  GES_TIMEZONE_INVALID: { http: 400, summary: 'A timezone is not a known IANA time zone.' },
  GES_CONFIG_REFERENCE_UNKNOWN: { http: 400, summary: 'A configuration item names business hours, a capacity rule or a number rule that does not exist.' },
  GES_DESIRED_TIME_BEYOND_HORIZON: { http: 400, summary: 'desiredTime lies beyond the service booking horizon.' },
  GES_IMMEDIATE_DISABLED: { http: 400, summary: 'The service does not accept immediate callbacks.' },
  GES_SCHEDULED_DISABLED: { http: 400, summary: 'The service does not accept scheduled callbacks.' },
  GES_PUSH_TARGET_REQUIRED: { http: 400, summary: 'The service is USERORIGINATED and the request has no push target.' },
  GES_DUPLICATE_IN_QUEUE: { http: 400, summary: 'The number already has the maximum of active callbacks in this service (in-queue checking).' },
  GES_CANCEL_NOT_ALLOWED: { http: 400, summary: 'The callback is PROCESSING or COMPLETED and cannot be cancelled.' },
  GES_RESCHEDULE_NOT_ALLOWED: { http: 400, summary: 'Only a SCHEDULED callback can be rescheduled.' },
  GES_CURSOR_INVALID: { http: 400, summary: 'The paging cursor of find is malformed.' },
  GES_IDEMPOTENCY_KEY_INVALID: { http: 400, summary: 'The Idempotency-Key header is empty or longer than 255 characters.' },
  GES_BAD_URL: { http: 400, summary: 'The URL path is not valid percent-encoding (answered before any route runs).' },
  GES_BAD_REQUEST: { http: 400, summary: 'The request is not well-formed HTTP (framing, header syntax, Content-Length); the connection is closed.' },
  GES_SECRET_STORAGE_OFF: {
    http: 400,
    summary: 'A tenant secret (CAPTCHA secret, push credentials) was given, but this deployment has no TENANT_SECRET_KEY to seal it with.',
  },
  GES_API_KEY_MISSING: { http: 401, summary: 'No X-API-Key header.' },
  GES_API_KEY_INVALID: { http: 401, summary: 'The X-API-Key is unknown or revoked.' },
  GES_ADMIN_TOKEN_INVALID: { http: 401, summary: 'The admin API needs Authorization: Bearer <ADMIN_TOKEN>.' },
  GES_CONSOLE_SIGN_IN_REQUIRED: { http: 401, summary: 'Console: no session, or it ended (signed out, idle timeout, user disabled); sign in again.' },
  GES_CONSOLE_SIGN_IN_FAILED: { http: 401, summary: 'Console: unknown tenant or login, wrong password, or a disabled user (the answer does not say which).' },
  GES_CONSOLE_FORBIDDEN: { http: 403, summary: 'Console: the role of the signed-in user does not allow this action (docs/CONSOLE.md).' },
  GES_CONSOLE_CSRF_INVALID: { http: 403, summary: 'Console: a state-changing form came without the CSRF token of the session, or with another one.' },
  GES_CORS_ORIGIN_REFUSED: {
    http: 403,
    summary: 'The request comes from a browser Origin that no tenant allows (preflight) or that the tenant of the API key does not allow.',
  },
  GES_CALLBACK_NOT_FOUND: { http: 404, summary: 'No callback with this id exists for this tenant.' },
  GES_ROUTE_NOT_FOUND: { http: 404, summary: 'No such path or method.' },
  GES_CONSOLE_NOT_FOUND: { http: 404, summary: 'Console: no such user, business hours, capacity rule, service or API key in this tenant.' },
  GES_IDEMPOTENCY_KEY_REUSED: { http: 409, summary: 'The Idempotency-Key was used in the last 24 h with a different body.' },
  GES_CONSOLE_USER_EXISTS: { http: 409, summary: 'Console: a user with this login already exists in the tenant.' },
  GES_REQUEST_TIMEOUT: {
    http: 408,
    summary: 'The request (headers or body) did not fully arrive within HTTP_HEADERS_TIMEOUT_MS / HTTP_REQUEST_TIMEOUT_MS; the connection is closed.',
  },
  GES_BODY_TOO_LARGE: { http: 413, summary: 'The request body exceeds BODY_LIMIT_BYTES.' },
  GES_UNSUPPORTED_MEDIA_TYPE: { http: 415, summary: 'The body is not application/json.' },
  GES_URI_TOO_LONG: {
    http: 414,
    summary: 'A path parameter (such as a service name) is longer than the router accepts (100 characters as sent, percent-encoding included).',
  },
  GES_SLOT_FULL: {
    http: 429,
    summary:
      'The slot of desiredTime is fully booked and the request or service asks alwaysCheckCapacity (or no slot has room for 7 days); data.slots proposes the next available slots.',
  },
  GES_NUMBER_THROTTLED: {
    http: 429,
    summary: 'The number reached the per-24-hour request limit of the service; data.slots is empty (the capacity 429 shape).',
  },
  GES_CALLIN_GROUP_FULL: { http: 429, summary: 'Every access code of every number of the call-in group is held by a waiting request; retry later.' },
  GES_CONSOLE_SIGN_IN_THROTTLED: { http: 429, summary: 'Console: too many failed sign-ins for this login from this address; wait before trying again.' },
  GES_RATE_LIMITED: {
    http: 429,
    summary: 'The API key or the tenant sent more requests per minute than its rate limit (docs/API.md "Limits"); Retry-After says when to retry.',
  },
  GES_HEADERS_TOO_LARGE: { http: 431, summary: 'The request line and headers exceed the size Node accepts (16 KiB); the connection is closed.' },
  GES_INTERNAL: { http: 500, summary: 'Unexpected server error; the corrId identifies it in the logs.' },
  GES_UNAVAILABLE: { http: 503, summary: 'The node is shutting down or its database is unreachable.' },
} as const);

export type ErrorCode = keyof typeof ERRORS;

/** An expected refusal: carries its stable code, the HTTP status and, for some codes, a data payload. */
export class GesError extends Error {
  readonly http: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
    this.name = 'GesError';
    this.http = ERRORS[code].http;
  }
}
