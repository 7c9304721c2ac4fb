-- Supervisor console: local users per tenant, and the failed API requests the Developer page
-- searches by correlation id.

-- Console users sign in with a tenant name, a login and a password; only an argon2id hash (PHC
-- string) is stored. A disabled user cannot sign in and loses any open session at its next request.
-- Display preferences (UTC or the tenant's zone, 24- or 12-hour clock) follow the user across browsers.
CREATE TABLE console_user (
  id            integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id     integer NOT NULL REFERENCES tenant (id) ON DELETE CASCADE,
  login         text NOT NULL CHECK (login ~ '^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$'),
  password_hash text NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
  role          text NOT NULL CHECK (role IN ('ADMINISTRATOR', 'SUPERVISOR', 'MONITOR', 'DEVELOPER')),
  show_utc      boolean NOT NULL DEFAULT false,
  clock_24h     boolean NOT NULL DEFAULT true,
  created_at    timestamptz NOT NULL DEFAULT now(),
  disabled_at   timestamptz,
  UNIQUE (tenant_id, login)
);

-- Failed Engagement API requests (HTTP status >= 400) of authenticated tenants, for the Developer
-- page. Deliberately no bodies, no query strings, no headers: only what identifies the failure.
-- Kept 14 days (maintenance deletes older rows).
CREATE TABLE failed_request (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id   integer NOT NULL REFERENCES tenant (id) ON DELETE CASCADE,
  at          timestamptz NOT NULL DEFAULT now(),
  corr_id     text NOT NULL CHECK (length(corr_id) <= 64),
  method      text NOT NULL CHECK (length(method) <= 10),
  path        text NOT NULL CHECK (length(path) <= 300),
  status_code smallint NOT NULL CHECK (status_code BETWEEN 400 AND 599),
  error_code  text CHECK (length(error_code) <= 64),
  message     text CHECK (length(message) <= 500)
);
CREATE INDEX failed_request_tenant_corr ON failed_request (tenant_id, corr_id);
CREATE INDEX failed_request_tenant_at ON failed_request (tenant_id, at);
CREATE INDEX failed_request_at ON failed_request (at);
