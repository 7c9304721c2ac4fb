import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type pg from 'pg';
import { AgentAdmin } from './agent-admin.ts';

/** The demo's agent on VOICE_PLATFORM=sip: a softphone registers as this login at the demo tenant. */
export const DEMO_SIP_AGENT = 'agent1';

export interface DemoSipAgent {
  login: string;
  /** undefined when the agent was created elsewhere and its password not kept here. */
  password: string | undefined;
}

/**
 * A newcomer who starts GES with VOICE_PLATFORM=sip gets one agent for the demo service, ready,
 * with a generated password their softphone registers with (docs/VOICE-SIP.md). Like the demo API
 * key, the password is kept in the data folder (mode 0600) so every start can print it again; GES
 * itself keeps only the digest secret.
 */
export async function ensureDemoSipAgent(pool: pg.Pool, dataDir: string, tenant: string, service: string): Promise<DemoSipAgent> {
  const file = join(dataDir, 'demo-sip-agent.json');
  const admin = new AgentAdmin(pool);
  if ((await admin.list(tenant)).some((a) => a.login === DEMO_SIP_AGENT)) {
    const saved = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as DemoSipAgent) : undefined;
    return { login: DEMO_SIP_AGENT, password: saved?.password };
  }
  const password = randomBytes(12).toString('base64url');
  await admin.create(tenant, DEMO_SIP_AGENT, { queues: [service], displayName: 'Demo agent', password });
  await admin.setReady(tenant, DEMO_SIP_AGENT);
  const agent = { login: DEMO_SIP_AGENT, password };
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(file, JSON.stringify(agent, null, 2), { mode: 0o600 });
  return agent;
}
