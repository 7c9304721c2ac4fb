/**
 * What the SIP adapter needs to know of agents, and nothing of where it is kept: the composition
 * root hands it an implementation over PostgreSQL (src/app/sip-agent-directory.ts), so that every
 * GES node sees the same agents, the same holds and the same registrations, and a node that dies
 * leaves no agent held longer than its lease.
 *
 * An agent belongs to one tenant, takes calls for some of its queues (services), and is reached
 * either at a fixed SIP URI (a phone behind a PBX) or at whatever softphone registered as its
 * login with GES's registrar.
 */

export interface SipAgent {
  readonly tenant: string;
  readonly login: string;
  readonly queues: readonly string[];
  /** Fixed SIP URI of the agent's phone; undefined: the softphone registered as `login`. */
  readonly uri?: string;
  readonly displayName?: string;
}

export interface SipAgentDirectory {
  /**
   * Holds a ready agent of the queue for the attempt `dialKey`, the one idle longest, never one of
   * `exclude`; an agent already held for `dialKey` is returned again (a repeat is harmless). One
   * SQL statement: two nodes never hold the same agent. The hold lasts `leaseMs` unless renewed.
   */
  reserve(tenant: string, queue: string, dialKey: string, exclude: readonly string[], leaseMs: number): Promise<SipAgent | undefined>;
  /** Holds this agent for `dialKey` if it is ready and free (agent-first with a named agent), or already held for it. */
  hold(tenant: string, login: string, dialKey: string, leaseMs: number): Promise<SipAgent | undefined>;
  /** The agent held for `dialKey`, if any. */
  heldFor(dialKey: string): Promise<SipAgent | undefined>;
  /** Lets go of the agent held for `dialKey` (nothing when it is not held for it). */
  release(dialKey: string, login: string): Promise<void>;
  /** Extends the holds of the calls this node still carries (called every few seconds). */
  renew(dialKeys: readonly string[], leaseMs: number): Promise<void>;
  /** Sets the agent not ready (a preview timeout with timeoutSetsNotReady, an unreachable phone). */
  setNotReady(tenant: string, login: string, reason: string): Promise<void>;
  /** Ready and not held agents of the queue, as of the last refresh (at most a second or so old). */
  available(tenant: string, queue: string): number;
  /** Agents of the queue signed in (ready, held or not ready with a reason), as of the last refresh. */
  signedIn(tenant: string, queue: string): number;
  /** Called after each refresh with the agents whose readiness changed (for agent_ready / agent_not_ready). */
  onPresence(listener: (change: { tenant: string; queue: string; login: string; ready: boolean }) => void): () => void;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Digest secrets of an agent: HA1 = H(login ":" realm ":" password), realm = the tenant name. The password itself is never kept. */
export interface SipAgentCredentials {
  readonly ha1Md5: string;
  readonly ha1Sha256: string;
}

/** The registrar's store: every node's registrar reads and writes the same bindings. */
export interface SipRegistrationBook {
  /** The digest secrets of `login` of `tenant`, or undefined when there is no such agent registering with GES. */
  credentials(tenant: string, login: string): Promise<SipAgentCredentials | undefined>;
  /** Binds `contact` (a SIP URI) to the agent for `expiresSec` (0 removes the binding). Expiry is on the database clock. */
  bind(tenant: string, login: string, contact: string, expiresSec: number): Promise<void>;
  /** The agent's unexpired contact, most recent binding first; undefined when not registered. */
  contactOf(tenant: string, login: string): Promise<string | undefined>;
  /** Tenant names, lower-cased, for telling a REGISTER's domain. */
  isTenant(name: string): Promise<boolean>;
}
