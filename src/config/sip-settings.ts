import { Type } from 'typebox';

/**
 * Settings of the SIP voice adapter (VOICE_PLATFORM=sip, docs/VOICE-SIP.md): where GES listens for
 * SIP and sends RTP, which networks may talk to it, the trunk customers are called through, and
 * the bounds that keep a scanner on port 5060 from costing anything. Kept apart from config.ts so
 * the adapter's knobs read as one group; ConfigSchema spreads them in.
 */
export const SIP_SETTINGS = {
  SIP_LISTEN_ADDRESS: Type.String({ default: '127.0.0.1', description: 'sip: address the SIP listeners bind to' }),
  SIP_PUBLIC_ADDRESS: Type.String({
    default: '',
    description: 'sip: address GES puts in Via, Contact and SDP (empty: SIP_LISTEN_ADDRESS); set it when GES is reached through another address',
  }),
  SIP_PORT: Type.Integer({ minimum: 1, maximum: 65535, default: 5060, description: 'sip: UDP and TCP port of the SIP listeners' }),
  SIP_TRANSPORTS: Type.String({
    default: 'udp,tcp',
    pattern: '^(udp|tcp|tls)(,(udp|tcp|tls))*$',
    description: 'sip: transports to listen on, comma-separated (tls needs SIP_TLS_CERT_FILE and SIP_TLS_KEY_FILE)',
  }),
  SIP_TLS_PORT: Type.Integer({ minimum: 1, maximum: 65535, default: 5061, description: 'sip: TLS port, when SIP_TRANSPORTS lists tls' }),
  SIP_TLS_CERT_FILE: Type.String({ default: '', description: 'sip: PEM certificate of the TLS listener' }),
  SIP_TLS_KEY_FILE: Type.String({ default: '', description: 'sip: PEM private key of the TLS listener' }),
  SIP_ALLOWED_NETWORKS: Type.String({
    default: '127.0.0.0/8',
    description:
      'sip: networks (CIDR, comma-separated) whose SIP requests and RTP are accepted; anything else is dropped unanswered and counted. List the trunk, the PBX and the agents’ phones',
  }),
  SIP_FLOOD_REQUESTS_PER_SEC: Type.Integer({
    minimum: 1,
    maximum: 100000,
    default: 20,
    description: 'sip: out-of-dialog requests (REGISTER, INVITE, OPTIONS...) one source address may send per second before the rest are dropped and logged',
  }),
  SIP_FLOOD_BURST: Type.Integer({ minimum: 1, maximum: 100000, default: 40, description: 'sip: burst allowance of SIP_FLOOD_REQUESTS_PER_SEC' }),
  SIP_OUTBOUND_PROXY: Type.String({
    default: '',
    description:
      'sip: trunk or outbound proxy every customer call is sent to (a SIP URI, e.g. sip:trunk.example.net:5060;transport=tcp); empty: the host of the customer URI',
  }),
  SIP_CUSTOMER_URI: Type.String({
    default: 'sip:{prefix}{number}@127.0.0.1:5080',
    description: "sip: request URI of a customer call; {number} is the E.164 number without '+', {e164} with it, {prefix} the service's dial-out prefix",
  }),
  SIP_TRUNK_USERNAME: Type.String({ default: '', description: 'sip: digest user name GES answers a trunk challenge (401/407) with; empty: no authentication' }),
  SIP_TRUNK_PASSWORD: Type.String({ default: '', description: 'sip: digest password towards the trunk (a secret: prefer a file in SECRETS_DIRS)' }),
  SIP_DEFAULT_CALLER_ID: Type.String({
    default: '',
    description: "sip: number the customer sees when the service sets no _calling_party_number (empty: GES's own SIP user, 'ges')",
  }),
  SIP_DOMAIN: Type.String({
    default: '',
    description:
      "sip: the registrar's domain when agents register to an address rather than a tenant name (empty: the To host names the tenant); agents' softphones register as login@tenant",
  }),
  SIP_DEFAULT_TENANT: Type.String({ default: '', description: 'sip: tenant of a REGISTER whose domain names no tenant (single-tenant deployments)' }),
  SIP_DIGEST_ALGORITHMS: Type.String({
    default: 'MD5',
    pattern: '^(MD5|SHA-256)(,(MD5|SHA-256))*$',
    description:
      "sip: digest algorithms the registrar challenges softphones with, in order (RFC 8760). MD5 alone by default: some softphones (baresip's libre among them) refuse a challenge that offers SHA-256 at all; list SHA-256,MD5 when every phone copes",
  }),
  SIP_NONCE_SECRET: Type.String({
    default: '',
    description:
      'sip: secret the registrar signs its digest nonces with (a secret: prefer a file in SECRETS_DIRS). Give every node the same one, so a phone challenged by one node may answer at another; empty: a random key per node, fine for one node',
  }),
  SIP_REGISTER_MAX_EXPIRES_SEC: Type.Integer({
    minimum: 60,
    maximum: 86400,
    default: 3600,
    description: 'sip: longest registration the registrar grants (a softphone asking more gets this)',
  }),
  SIP_REGISTER_MIN_EXPIRES_SEC: Type.Integer({ minimum: 10, maximum: 3600, default: 60, description: 'sip: shortest registration accepted (423 below it)' }),
  SIP_RTP_ADDRESS: Type.String({ default: '', description: 'sip: address RTP sockets bind to (empty: SIP_LISTEN_ADDRESS)' }),
  SIP_RTP_PORT_MIN: Type.Integer({ minimum: 1024, maximum: 65534, default: 20000, description: 'sip: lowest RTP port (each call leg takes one even port)' }),
  SIP_RTP_PORT_MAX: Type.Integer({ minimum: 1025, maximum: 65535, default: 20999, description: 'sip: highest RTP port' }),
  SIP_RING_TIMEOUT_SEC: Type.Integer({
    minimum: 5,
    maximum: 300,
    default: 30,
    description: 'sip: a call not answered after this many seconds is cancelled (CANCEL) and counts as no answer',
  }),
  SIP_AGENT_RING_TIMEOUT_SEC: Type.Integer({
    minimum: 5,
    maximum: 300,
    default: 20,
    description: "sip: how long an agent's phone rings before GES gives up on it",
  }),
  SIP_PROMPT_DIR: Type.String({
    default: '',
    description:
      'sip: folder of prompt files <prompt id>.wav (8 kHz mono, 16-bit PCM or G.711); a prompt not found there plays the default prompt shipped in assets/prompts',
  }),
};
