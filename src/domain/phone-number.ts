import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import { GesError } from './errors.ts';

export interface PhoneRules {
  defaultCountry: string;
  disallowImpossibleNumbers: boolean;
  disallowPremiumNumbers: boolean;
}

/**
 * Normalises a number to E.164 (`+` and up to 15 digits) using the service's default country for
 * national formats. Impossible numbers (wrong length for the country) and premium-rate numbers are
 * refused when the service says so, as GES's `_disallow_*_phone_numbers` options do.
 */
export function normalizePhone(raw: string, rules: PhoneRules): string {
  const trimmed = raw.trim();
  if (!/^[+0-9()\-.\s/]{2,40}$/.test(trimmed) || !/[0-9]/.test(trimmed)) {
    throw new GesError('GES_PHONE_INVALID', 'phoneNumber must contain only digits, spaces, +, -, ., / and parentheses');
  }
  const parsed = parsePhoneNumberFromString(trimmed, rules.defaultCountry as CountryCode);
  if (!parsed || !/^\+[1-9][0-9]{1,14}$/.test(parsed.number)) {
    throw new GesError('GES_PHONE_INVALID', `phoneNumber cannot be read as an international number (default country ${rules.defaultCountry})`);
  }
  if (rules.disallowImpossibleNumbers && !parsed.isPossible()) {
    throw new GesError('GES_PHONE_INVALID', `phoneNumber is not a possible number for ${parsed.country ?? 'country code +' + parsed.countryCallingCode}`);
  }
  if (rules.disallowPremiumNumbers && parsed.getType() === 'PREMIUM_RATE') {
    throw new GesError('GES_PHONE_PREMIUM', 'phoneNumber is a premium-rate number, which this service refuses');
  }
  return parsed.number;
}

/** E.164 fits a bigint (at most 15 digits, never a leading zero): 8 bytes instead of a text column. */
export function phoneToStored(e164: string): string {
  return e164.slice(1);
}

export function phoneFromStored(stored: string | number | bigint): string {
  return `+${String(stored)}`;
}

/** For logs: keeps the country code and the last two digits, so a support engineer can tell numbers apart without reading them. */
export function maskPhone(e164: string): string {
  if (e164.length <= 6) return '*'.repeat(e164.length);
  return e164.slice(0, 3) + '*'.repeat(e164.length - 5) + e164.slice(-2);
}
