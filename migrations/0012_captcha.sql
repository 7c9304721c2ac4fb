-- CAPTCHA (issue 14). A tenant's provider settings: which siteverify endpoint GES asks, the public
-- site key, the lowest score it takes (reCAPTCHA v3) and what a create gets while the provider
-- cannot be reached. The provider's secret is not here: it is sealed in tenant_secret ('captcha').
CREATE TABLE tenant_captcha (
  tenant_id        integer PRIMARY KEY REFERENCES tenant (id) ON DELETE CASCADE,
  provider         text    NOT NULL CHECK (provider IN ('recaptcha', 'hcaptcha', 'turnstile', 'siteverify')),
  verify_url       text    NOT NULL CHECK (length(verify_url) <= 2048),
  site_key         text    CHECK (length(site_key) <= 255),
  min_score        real    CHECK (min_score >= 0 AND min_score <= 1),
  on_verifier_down text    NOT NULL CHECK (on_verifier_down IN ('refuse', 'accept')),
  updated_at       timestamptz NOT NULL DEFAULT now()
);

-- Tokens GES has accepted, by SHA-256 digest (never the token): a token is good for one create,
-- whatever the provider would answer if asked again. 'verified' rows come from POST /captcha/verify
-- and may be spent by one create until usable_until; 'used' rows only refuse replays. A row is
-- purged by maintenance once expires_at has passed, long after any provider stops honouring it.
CREATE TABLE captcha_token (
  tenant_id    integer NOT NULL REFERENCES tenant (id) ON DELETE CASCADE,
  digest       bytea   NOT NULL CHECK (octet_length(digest) = 32),
  state        text    NOT NULL CHECK (state IN ('verified', 'used')),
  usable_until timestamptz,
  expires_at   timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, digest)
);
CREATE INDEX captcha_token_expiry ON captcha_token (expires_at);
