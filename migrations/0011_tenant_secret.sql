-- Secrets a tenant gives GES for outside services (a CAPTCHA provider's secret, a Firebase service
-- account), sealed with AES-256-GCM under the node's TENANT_SECRET_KEY (src/app/secret-box.ts).
-- The database never sees a clear value: a dump or a replica leaks nothing usable without the key.
-- `sealed` packs format version, key id, nonce, tag and ciphertext; the tenant id and the name are
-- the authenticated data, so a sealed value copied to another tenant or name does not open.
CREATE TABLE tenant_secret (
  tenant_id  integer NOT NULL REFERENCES tenant (id) ON DELETE CASCADE,
  name       text    NOT NULL CHECK (name ~ '^[a-z][a-z0-9_.-]{0,62}$'),
  sealed     bytea   NOT NULL CHECK (octet_length(sealed) <= 65536),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, name)
);
