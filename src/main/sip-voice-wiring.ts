import { readFileSync } from 'node:fs';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Config } from '../config/config.ts';
import { PgSipAgentDirectory } from '../app/sip-agent-directory.ts';
import { dialNumberCheck } from '../app/dial-number-check.ts';
import type { SipMetrics } from '../metrics/sip-metrics.ts';
import { RtpPortPool } from '../voice/sip/media/rtp-port-pool.ts';
import { FilePromptBook } from '../voice/sip/prompt-book.ts';
import { parseNetworks } from '../voice/sip/signalling/network-allowlist.ts';
import { SipUserAgent } from '../voice/sip/signalling/sip-user-agent.ts';
import { SipVoicePort } from '../voice/sip/sip-voice-port.ts';

/**
 * VOICE_PLATFORM=sip: the SIP user agent (listeners, registrar), the RTP port range, the prompts,
 * the agents over PostgreSQL and the number rules at dial time, joined into the SIP voice port.
 */
export function sipVoicePort(config: Config, pool: pg.Pool, logger: Logger, metrics: SipMetrics | undefined): SipVoicePort {
  const log = logger.child({ component: 'sip' });
  const allowed = parseNetworks(config.SIP_ALLOWED_NETWORKS);
  const publicAddress = config.SIP_PUBLIC_ADDRESS || config.SIP_LISTEN_ADDRESS;
  const transports = config.SIP_TRANSPORTS.split(',') as ('udp' | 'tcp' | 'tls')[];
  const directory = new PgSipAgentDirectory(pool);
  const ua = new SipUserAgent({
    address: config.SIP_LISTEN_ADDRESS,
    publicAddress,
    port: config.SIP_PORT,
    transports,
    tlsPort: config.SIP_TLS_PORT,
    ...(transports.includes('tls')
      ? { tls: { key: readFileSync(config.SIP_TLS_KEY_FILE, 'utf8'), cert: readFileSync(config.SIP_TLS_CERT_FILE, 'utf8') } }
      : {}),
    allowed,
    flood: { perSecond: config.SIP_FLOOD_REQUESTS_PER_SEC, burst: config.SIP_FLOOD_BURST },
    registrar: {
      book: directory,
      domain: config.SIP_DOMAIN,
      defaultTenant: config.SIP_DEFAULT_TENANT,
      minExpiresSec: config.SIP_REGISTER_MIN_EXPIRES_SEC,
      maxExpiresSec: config.SIP_REGISTER_MAX_EXPIRES_SEC,
      algorithms: config.SIP_DIGEST_ALGORITHMS.split(',') as ('MD5' | 'SHA-256')[],
    },
    logger: log,
    ...(metrics ? { metrics: { refused: metrics.refused } } : {}),
  });
  const rtp = new RtpPortPool({
    address: config.SIP_RTP_ADDRESS || config.SIP_LISTEN_ADDRESS,
    minPort: config.SIP_RTP_PORT_MIN,
    maxPort: config.SIP_RTP_PORT_MAX,
    allowed,
  });
  return new SipVoicePort({
    ua,
    openRtp: () => rtp.open(),
    agents: directory,
    registrations: directory,
    prompts: new FilePromptBook(config.SIP_PROMPT_DIR),
    customerUriTemplate: config.SIP_CUSTOMER_URI,
    ...(config.SIP_OUTBOUND_PROXY ? { outboundProxy: config.SIP_OUTBOUND_PROXY } : {}),
    ...(config.SIP_TRUNK_USERNAME ? { trunkAuth: { username: config.SIP_TRUNK_USERNAME, password: config.SIP_TRUNK_PASSWORD } } : {}),
    defaultCallerId: config.SIP_DEFAULT_CALLER_ID,
    ringTimeoutMs: config.SIP_RING_TIMEOUT_SEC * 1000,
    agentRingTimeoutMs: config.SIP_AGENT_RING_TIMEOUT_SEC * 1000,
    numberAllowed: dialNumberCheck(pool),
    ...(metrics ? { observer: metrics } : {}),
    logger: log,
  });
}
