/**
 * The request URI of a customer call, from SIP_CUSTOMER_URI: `{number}` is the E.164 number
 * without its '+', `{e164}` with it (escaped as %2B where a URI user part needs it), `{prefix}`
 * the service's dial-out prefix (_prefix_dial_out). And its masked form for logs: a customer's
 * URI holds their phone number, which GES never logs in full.
 */
export function customerUri(template: string, phone: string, prefix: string | undefined): string {
  const digits = phone.replace(/^\+/, '');
  return template
    .replaceAll('{prefix}', prefix ?? '')
    .replaceAll('{number}', digits)
    .replaceAll('{e164}', `+${digits}`);
}

/** The URI with every run of digits but its last two masked: enough to tell two calls apart in a log. */
export function maskedUri(uri: string): string {
  return uri.replace(/\d{3,}/g, (run) => '*'.repeat(run.length - 2) + run.slice(-2));
}
