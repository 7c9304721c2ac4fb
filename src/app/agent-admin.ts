import { createHash } from 'node:crypto';
import type pg from 'pg';
import { GesError } from '../domain/errors.ts';
import { findTenantByName, type Tenant } from '../store/tenant-store.ts';
import { listServices } from '../store/service-store.ts';
import {
  deleteSipAgent,
  insertSipAgent,
  listSipAgents,
  setSipAgentNotReady,
  setSipAgentReady,
  setSipAgentSecrets,
  updateSipAgent,
  type SipAgentListing,
  type SipAgentSecrets,
} from '../store/sip-agent-store.ts';

export type { SipAgentListing };

/**
 * The SIP adapter's agents as an administrator manages them (`ges agent ...`; the agent desktop of
 * issue 16 will set presence instead of the CLI). Everything a SIP header or the database would
 * refuse is refused here first, with a message that says what to type instead.
 */

// As the table's CHECK: the login is the SIP user a softphone registers as.
const LOGIN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const SIP_URI = /^sips?:\S+$/i;
export const MIN_SIP_PASSWORD_LENGTH = 12; // digest over UDP can be cracked offline from one capture: only length protects it
const MAX_SIP_PASSWORD_LENGTH = 256;
// The display name goes into a From header between quotes: a quote, a backslash or a line break would let it forge headers.
// eslint-disable-next-line no-control-regex -- the point is to find control characters
const UNSAFE_IN_HEADER = /[\u0000-\u001f\u007f"\\]/;

/**
 * Digest secrets of a password, HA1 = H(login ":" realm ":" password) in MD5 and SHA-256 (RFC 8760),
 * with the tenant's name in lower case as realm: the registrar challenges with the REGISTER's domain,
 * which it knows only lower-cased.
 */
export function sipDigestSecrets(login: string, tenantName: string, password: string): SipAgentSecrets {
  const input = `${login}:${tenantName.toLowerCase()}:${password}`;
  return { ha1Md5: createHash('md5').update(input, 'utf8').digest('hex'), ha1Sha256: createHash('sha256').update(input, 'utf8').digest('hex') };
}

export interface NewAgent {
  queues: readonly string[];
  uri?: string;
  displayName?: string;
  /** Lets the agent's softphone register with GES; without it the agent must have a fixed uri. */
  password?: string;
}

/** undefined: leave as it is; null: clear it. */
export interface AgentChanges {
  queues?: readonly string[];
  uri?: string | null;
  displayName?: string | null;
}

function invalid(message: string): GesError {
  return new GesError('GES_VALIDATION', message);
}

function checkLogin(login: string): void {
  if (!LOGIN.test(login)) throw invalid('agent login must be 1 to 64 letters, digits, _ . or -, starting with a letter or digit');
}

function checkUri(uri: string): void {
  if (!SIP_URI.test(uri) || uri.length > 512) throw invalid(`--uri must be a SIP URI such as sip:1001@pbx.example.net (at most 512 characters)`);
}

function checkDisplayName(name: string): void {
  if (name.length === 0 || name.length > 128 || UNSAFE_IN_HEADER.test(name))
    throw invalid('display name must be 1 to 128 characters, without quotes, backslashes or control characters');
}

function checkPassword(password: string): void {
  if (password.length < MIN_SIP_PASSWORD_LENGTH || password.length > MAX_SIP_PASSWORD_LENGTH)
    throw invalid(`SIP password must be ${MIN_SIP_PASSWORD_LENGTH} to ${MAX_SIP_PASSWORD_LENGTH} characters`);
}

function checkReason(reason: string): void {
  // eslint-disable-next-line no-control-regex -- the point is to find control characters
  if (reason.length === 0 || reason.length > 256 || /[\u0000-\u001f\u007f]/.test(reason)) throw invalid('reason must be 1 to 256 characters, one line');
}

export class AgentAdmin {
  constructor(private readonly pool: pg.Pool) {}

  async create(tenantName: string, login: string, agent: NewAgent): Promise<void> {
    checkLogin(login);
    if (agent.uri === undefined && agent.password === undefined)
      throw invalid('an agent is reached at a fixed phone (--uri) or at the softphone it registers with a password (--password-stdin): give one');
    if (agent.uri !== undefined) checkUri(agent.uri);
    if (agent.displayName !== undefined) checkDisplayName(agent.displayName);
    if (agent.password !== undefined) checkPassword(agent.password);
    const tenant = await this.#tenant(tenantName);
    const queues = await this.#queues(tenant, agent.queues);
    const created = await insertSipAgent(this.pool, tenant.id, {
      login,
      queues,
      ...(agent.uri === undefined ? {} : { uri: agent.uri }),
      ...(agent.displayName === undefined ? {} : { displayName: agent.displayName }),
      ...(agent.password === undefined ? {} : { secrets: sipDigestSecrets(login, tenant.name, agent.password) }),
    });
    if (!created) throw invalid(`an agent ${login} already exists in tenant ${tenant.name}`);
  }

  async update(tenantName: string, login: string, changes: AgentChanges): Promise<void> {
    if (changes.uri) checkUri(changes.uri);
    if (changes.displayName) checkDisplayName(changes.displayName);
    const tenant = await this.#tenant(tenantName);
    const queues = changes.queues === undefined ? undefined : await this.#queues(tenant, changes.queues);
    if (!(await updateSipAgent(this.pool, tenant.id, login, { ...changes, ...(queues === undefined ? {} : { queues }) }))) throw this.#notFound(tenant, login);
  }

  async remove(tenantName: string, login: string): Promise<void> {
    const tenant = await this.#tenant(tenantName);
    if (!(await deleteSipAgent(this.pool, tenant.id, login))) throw this.#notFound(tenant, login);
  }

  /** Sets the password the agent's softphone registers with; only its digest secrets are kept. */
  async setPassword(tenantName: string, login: string, password: string): Promise<void> {
    checkPassword(password);
    const tenant = await this.#tenant(tenantName);
    if (!(await setSipAgentSecrets(this.pool, tenant.id, login, sipDigestSecrets(login, tenant.name, password)))) throw this.#notFound(tenant, login);
  }

  async setReady(tenantName: string, login: string): Promise<void> {
    const tenant = await this.#tenant(tenantName);
    if (!(await setSipAgentReady(this.pool, tenant.id, login))) throw this.#notFound(tenant, login);
  }

  /** Not ready with a reason: on a break, still signed in. Without one: signed out. */
  async setNotReady(tenantName: string, login: string, reason?: string): Promise<void> {
    if (reason !== undefined) checkReason(reason);
    const tenant = await this.#tenant(tenantName);
    if (!(await setSipAgentNotReady(this.pool, tenant.id, login, reason ?? null))) throw this.#notFound(tenant, login);
  }

  async list(tenantName: string): Promise<SipAgentListing[]> {
    return listSipAgents(this.pool, (await this.#tenant(tenantName)).id);
  }

  async #tenant(name: string): Promise<Tenant> {
    const tenant = await findTenantByName(this.pool, name);
    if (!tenant) throw invalid(`no tenant named ${name}`);
    return tenant;
  }

  /** The queues, each a service of the tenant: an agent of a queue nobody calls for would wait forever. */
  async #queues(tenant: Tenant, queues: readonly string[]): Promise<string[]> {
    const wanted = [...new Set(queues.map((q) => q.trim()).filter((q) => q.length > 0))];
    if (wanted.length === 0) throw invalid('an agent takes calls for at least one queue (--queues with service names, comma-separated)');
    const services = new Set((await listServices(this.pool, tenant.id)).map((s) => s.name));
    const unknown = wanted.filter((q) => !services.has(q));
    if (unknown.length > 0)
      throw new GesError(
        'GES_SERVICE_UNKNOWN',
        `tenant ${tenant.name} has no service ${unknown.join(', ')} (its services: ${[...services].join(', ') || 'none'}); create it first with ges service create`,
      );
    return wanted;
  }

  #notFound(tenant: Tenant, login: string): GesError {
    return invalid(`no agent ${JSON.stringify(login.slice(0, 64))} in tenant ${tenant.name}`);
  }
}
