-- Agents of the SIP voice adapter (VOICE_PLATFORM=sip, src/voice/sip/sip-agent-directory.ts).
-- With SIP there is no platform that knows the agents, so GES keeps them: who takes calls for
-- which queues, whether they are ready, and which attempt holds them. In Postgres, not in a node's
-- memory, so every node sees the same agents and a hold is taken by exactly one node.
CREATE TABLE sip_agent (
  tenant_id        integer NOT NULL REFERENCES tenant (id) ON DELETE CASCADE,
  -- The login is also the SIP user a softphone registers as (login@tenant), hence the SIP-safe characters.
  login            text NOT NULL CHECK (login ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'),
  display_name     text CHECK (length(display_name) <= 128),
  -- Service names, not ids: the agent is made for queues by name (CLI, configuration files) and a
  -- service that is dropped and created again keeps its agents.
  queues           text[] NOT NULL DEFAULT '{}',
  -- A fixed phone (behind a PBX). NULL: the agent is reached at the contact its softphone registered.
  uri              text CHECK (uri ~* '^sips?:[^\s]+$' AND length(uri) <= 512),
  -- Digest secrets, HA1 = H(login ":" realm ":" password) with the tenant name as realm, in both
  -- algorithms a softphone may choose (RFC 8760). The password is never kept. NULL: the agent
  -- never registers with GES (a fixed uri), and the registrar refuses its login.
  ha1_md5          text CHECK (ha1_md5 ~ '^[0-9a-f]{32}$'),
  ha1_sha256       text CHECK (ha1_sha256 ~ '^[0-9a-f]{64}$'),
  ready            boolean NOT NULL DEFAULT false,
  -- Why the agent is not ready (break, preview timeout, unreachable phone). NULL while not ready:
  -- signed out, which the queue's signed-in count leaves out.
  not_ready_reason text CHECK (length(not_ready_reason) <= 256),
  -- When ready last changed: an agent that just became ready has been idle since then.
  state_changed_at timestamptz NOT NULL DEFAULT now(),
  -- The attempt (dial key) holding the agent, until when. A hold whose lease ran out counts as
  -- free: a node that died leaves no agent held longer than its lease, with no sweep to run.
  held_by          text,
  held_until       timestamptz,
  -- When the last hold ended: the agent idle longest is offered the next call.
  last_released_at timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, login),
  CHECK ((ha1_md5 IS NULL) = (ha1_sha256 IS NULL)),
  CHECK ((held_by IS NULL) = (held_until IS NULL))
);

-- heldFor, release and renew find agents by dial key; only a few rows are held at any moment.
CREATE INDEX sip_agent_held_by ON sip_agent (held_by) WHERE held_by IS NOT NULL;

-- Where each agent's softphone registered (the registrar of every node writes here). A login may
-- have several contacts (desk phone and laptop); the latest unexpired binding is called. Expiry
-- is on the database clock so that nodes with skewed clocks agree.
CREATE TABLE sip_registration (
  tenant_id  integer NOT NULL,
  login      text NOT NULL,
  contact    text NOT NULL CHECK (length(contact) <= 1024),
  expires_at timestamptz NOT NULL,
  bound_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, login, contact),
  -- A binding goes with its agent.
  FOREIGN KEY (tenant_id, login) REFERENCES sip_agent (tenant_id, login) ON DELETE CASCADE
);
