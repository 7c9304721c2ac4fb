-- The agent the platform holds for a callback's attempt: written when agent_reserved is applied
-- (in the same fenced statement), cleared when that agent is connected to the customer or given
-- back with release_agent. Kept in Postgres so that whichever node ends the attempt (its event,
-- a cancel, a watchdog, the sweep after a node died) can send release_agent with the agent's id.
-- held_attempt says which attempt the agent was reserved for: a later attempt never releases it
-- by mistake, and the sweep finds agents whose attempt is over.
ALTER TABLE callback
  ADD COLUMN held_agent   text,
  ADD COLUMN held_attempt smallint;

-- The sweep reads only callbacks that hold an agent: a handful at any moment.
CREATE INDEX callback_held_agent ON callback (id) WHERE held_agent IS NOT NULL;
