/**
 * SIP URIs of customers carry their phone number in the user part, and logs must never hold a
 * number whole: the user part keeps its last 2 characters, enough to tell two calls apart in a log.
 */
export function maskUri(uri: string): string {
  return uri.replace(
    /(sips?:)([^@;>\s:]*)(?::[^@;>\s]*)?@/gi,
    (_all, scheme: string, user: string) => `${scheme}${user.length > 2 ? '*'.repeat(user.length - 2) + user.slice(-2) : '**'}@`,
  );
}
