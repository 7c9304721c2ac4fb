-- Agents who rejected a callback's preview (or let it time out), over all its attempts: written by
-- the same fenced statement that applies the preview_rejected event, read back with the callback so
-- that every reserve_agent, from any node, excludes them (docs/ENGINE.md, "Agent preview"). NULL
-- until the first reject; at most maxPreviewRejects (9) entries.
ALTER TABLE callback ADD COLUMN preview_rejects text[];
