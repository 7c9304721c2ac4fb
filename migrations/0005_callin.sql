-- Click-To-Call-In: groups of numbers a customer may be told to dial, and the requests that tell
-- them which one (and which access code) so that their inbound call can be matched to the request
-- and its userData. See src/domain/call-in/ and src/store/call-in-store.ts.

-- One row per call-in group of a tenant; the ranges mirror src/domain/call-in/call-in-group.ts.
CREATE TABLE callin_group (
  id                 integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id          integer NOT NULL REFERENCES tenant (id) ON DELETE CASCADE,
  name               text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  dnis               bigint[] NOT NULL CHECK (cardinality(dnis) BETWEEN 1 AND 100), -- E.164 digits, as callback.phone
  access_code        boolean NOT NULL,
  access_code_length smallint NOT NULL CHECK (access_code_length BETWEEN 4 AND 10),
  expiry_sec         integer NOT NULL CHECK (expiry_sec BETWEEN 60 AND 86400),
  target_service     text CHECK (length(target_service) BETWEEN 1 AND 255), -- queue matched calls are routed to
  default_country    text NOT NULL DEFAULT 'US',
  updated_at         timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, name)
);

-- One row per call-in request. Small and fixed-width first like the callback row: numbers as
-- bigint E.164 digits, the state as a smallint (1 waiting, 2 matched, 3 expired), userData inline
-- as jsonb when small, else deflated in user_data_z (src/store/user-data-codec.ts). A request that
-- is still "waiting" after expires_at is expired whatever its state column says; maintenance
-- writes the state down and deletes requests 14 days after their creation.
CREATE TABLE callin_request (
  created_at      timestamptz NOT NULL,
  expires_at      timestamptz NOT NULL,
  matched_at      timestamptz,
  to_number       bigint NOT NULL,
  from_number     bigint,
  access_code     bigint, -- NULL when the group does not use access codes
  id              uuid PRIMARY KEY, -- UUIDv7 from the application
  tenant_id       integer NOT NULL REFERENCES tenant (id) ON DELETE CASCADE,
  group_id        integer NOT NULL REFERENCES callin_group (id) ON DELETE CASCADE,
  state           smallint NOT NULL DEFAULT 1 CHECK (state BETWEEN 1 AND 3),
  callback_id     text, -- callbackServiceId as the client sent it
  matched_call_id text, -- the platform's id of the inbound call that matched
  user_data       jsonb,
  user_data_z     bytea
);

-- Matching and the load of each number: only waiting requests, by number.
CREATE INDEX callin_request_waiting ON callin_request (tenant_id, to_number, created_at) WHERE state = 1;
-- One inbound call matches at most one request, even when the platform delivers it twice at once.
CREATE UNIQUE INDEX callin_request_call ON callin_request (tenant_id, matched_call_id) WHERE matched_call_id IS NOT NULL;
-- Retention and data-protection requests.
CREATE INDEX callin_request_created ON callin_request (created_at);
CREATE INDEX callin_request_from ON callin_request (tenant_id, from_number) WHERE from_number IS NOT NULL;
