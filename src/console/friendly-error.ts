import type { GesError } from '../domain/errors.ts';

/** Messages for the console user about a callback form; the API's wording speaks of request fields. */
export function friendly(err: GesError): string {
  switch (err.code) {
    case 'GES_SLOT_FULL':
      return 'That slot has just been fully booked. Pick another one.';
    case 'GES_SERVICE_UNKNOWN':
      return 'Choose one of the services.';
    default:
      return err.message.replace(/^phoneNumber/, 'The phone number').replace(/^desiredTime/, 'The time');
  }
}
