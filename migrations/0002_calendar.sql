-- Scheduling calendar: business hours and capacity rules per tenant, their use by services, and
-- per-slot booking counters (so availability never counts callbacks).

CREATE TABLE business_hours (
  id         integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id  integer NOT NULL REFERENCES tenant (id) ON DELETE CASCADE,
  name       text NOT NULL,
  definition jsonb NOT NULL, -- written form, validated by src/domain/calendar/calendar-config.ts
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, name)
);

CREATE TABLE capacity_rule (
  id         integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id  integer NOT NULL REFERENCES tenant (id) ON DELETE CASCADE,
  name       text NOT NULL,
  definition jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, name)
);

ALTER TABLE callback_service
  ADD COLUMN business_hours_id integer REFERENCES business_hours (id) ON DELETE RESTRICT,
  ADD COLUMN capacity_rule_id  integer REFERENCES capacity_rule (id) ON DELETE RESTRICT;

-- Scheduled callbacks booked in each slot of a service. Changed only in the same statement that
-- creates, cancels, completes or reschedules a callback; never above the slot's capacity.
CREATE TABLE slot_booking (
  service_id integer NOT NULL,
  slot_start timestamptz NOT NULL,
  booked     integer NOT NULL CHECK (booked >= 0),
  PRIMARY KEY (service_id, slot_start)
);
