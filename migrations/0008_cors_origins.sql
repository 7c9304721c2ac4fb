-- Browser origins allowed to call the Engagement API of a tenant (CORS). None by default. Origins
-- are stored serialised as browsers send them (`https://shop.example.com`, default port omitted),
-- so a lookup is an equality; preflight, which carries no API key, asks whether any tenant allows
-- an origin, hence the index on origin alone.

CREATE TABLE cors_origin (
  tenant_id integer NOT NULL REFERENCES tenant (id) ON DELETE CASCADE,
  origin    text NOT NULL CHECK (origin ~ '^https?://[^/?#\s]+$' AND length(origin) <= 300),
  PRIMARY KEY (tenant_id, origin)
);
CREATE INDEX cors_origin_origin ON cors_origin (origin);
