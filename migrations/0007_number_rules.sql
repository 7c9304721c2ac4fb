-- Number validation rules ("Permitted & Blocked Numbers", ges-api.md §3.5): named per tenant, kept
-- as their written form (validated by src/domain/numbers/number-rule.ts), and named by the services
-- that apply them. A service without a rule accepts every number its phone options accept.

CREATE TABLE number_rule (
  id         integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id  integer NOT NULL REFERENCES tenant (id) ON DELETE CASCADE,
  name       text NOT NULL CHECK (name ~ '^[A-Za-z0-9]{1,32}$'),
  definition jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, name)
);

ALTER TABLE callback_service
  ADD COLUMN number_rule_id integer REFERENCES number_rule (id) ON DELETE RESTRICT;
