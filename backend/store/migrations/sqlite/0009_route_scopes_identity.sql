-- Issue #14, route scopes and signed identity.
-- scopes: the JSON array of scopes every request on the route needs (routes add|update --scope).
-- document_scopes: what the route's OpenAPI document declared (x-keygate-scopes), read when the
-- route was saved, as JSON {"default":[…],"operations":[{"method","path","scopes"}]}; '' = none.
-- identity_jwt: the gateway sends the upstream a signed X-Keygate-Jwt.
ALTER TABLE routes ADD COLUMN scopes TEXT NOT NULL DEFAULT '[]';
ALTER TABLE routes ADD COLUMN document_scopes TEXT NOT NULL DEFAULT '';
ALTER TABLE routes ADD COLUMN identity_jwt INTEGER NOT NULL DEFAULT 0;

-- The gateway's identity signing keys (ES256). The private key is sealed (AES-256-GCM with the
-- instance's secret key, backend/seal), never stored in plain text. retires_at: null for the
-- key that signs; set (Unix ms) on rotation, after which the key is no longer published.
CREATE TABLE identity_keys (
    id          TEXT PRIMARY KEY,           -- the JWK's kid
    created_at  INTEGER NOT NULL,
    retires_at  INTEGER,
    public_jwk  TEXT NOT NULL,
    private_key BLOB NOT NULL
);
CREATE TRIGGER identity_keys_rev_insert AFTER INSERT ON identity_keys BEGIN UPDATE revision SET rev = rev + 1 WHERE id = 1; END;
CREATE TRIGGER identity_keys_rev_update AFTER UPDATE ON identity_keys BEGIN UPDATE revision SET rev = rev + 1 WHERE id = 1; END;
CREATE TRIGGER identity_keys_rev_delete AFTER DELETE ON identity_keys BEGIN UPDATE revision SET rev = rev + 1 WHERE id = 1; END;
