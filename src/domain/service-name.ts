import { GesError } from './errors.ts';
import { hasLoneSurrogate } from './unicode-text.ts';

/**
 * A callback service's name travels in URL paths (availability, open-for, queue-status), where the
 * HTTP layer refuses path parameters longer than 100 characters with 414 before GES sees them. So a
 * longer name is refused when the service is created, not discovered later as an unreachable queue.
 */
export const MAX_SERVICE_NAME_LENGTH = 100;

export function checkServiceName(name: string): string {
  if (name.length === 0 || name.trim() !== name) throw new GesError('GES_VALIDATION', 'service name must be non-empty, without leading or trailing spaces');
  if (name.length > MAX_SERVICE_NAME_LENGTH)
    throw new GesError('GES_VALIDATION', `service name is ${name.length} characters; at most ${MAX_SERVICE_NAME_LENGTH} (it is part of URL paths)`);
  // eslint-disable-next-line no-control-regex -- the point is to find control characters in the name
  if (/[\u0000-\u001f\u007f]/.test(name) || hasLoneSurrogate(name))
    throw new GesError('GES_VALIDATION', 'service name must not contain control characters or lone surrogates');
  return name;
}
