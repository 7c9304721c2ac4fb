-- A tenant's own API rate limits (src/domain/api-limits.ts ApiLimitsDoc, validated by the app):
-- requests per minute per API key and per tenant, for creates and for other requests. A tenant
-- without a row, or a field absent from its row, uses the node defaults (RATE_LIMIT_* settings).
CREATE TABLE tenant_api_limits (
  tenant_id  integer PRIMARY KEY REFERENCES tenant (id) ON DELETE CASCADE,
  limits     jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
