-- Audit trail of data-protection actions (and later, other operator actions). The subject is kept
-- only as a keyed hash, so the trail proves an erasure without holding the erased number.
CREATE TABLE audit_event (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at           timestamptz NOT NULL DEFAULT now(),
  tenant_id    integer,
  action       text NOT NULL,
  subject_hash text,
  detail       jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_event_tenant_at ON audit_event (tenant_id, at);
