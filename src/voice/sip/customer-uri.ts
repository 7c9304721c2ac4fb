/**
 * The request URI of a customer call, from SIP_CUSTOMER_URI: `{number}` is the E.164 number
 * without its '+', `{e164}` with it (escaped as %2B where a URI user part needs it), `{prefix}`
 * the service's dial-out prefix (_prefix_dial_out). A customer's URI holds their phone number:
 * log it only through maskUri (signalling/mask-uri.ts).
 */
export function customerUri(template: string, phone: string, prefix: string | undefined): string {
  const digits = phone.replace(/^\+/, '');
  return template
    .replaceAll('{prefix}', prefix ?? '')
    .replaceAll('{number}', digits)
    .replaceAll('{e164}', `+${digits}`);
}
