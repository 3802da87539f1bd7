-- Keygate schema, version 1. Times are Unix milliseconds (UTC); NULL means "not set".

CREATE TABLE orgs (
    id         TEXT PRIMARY KEY,            -- org_<base62>
    name       TEXT NOT NULL,
    key_prefix TEXT NOT NULL DEFAULT 'kg',
    created_at INTEGER NOT NULL
);

-- A key is the long-lived identity (id, name, org); its secrets live in key_secrets so that a
-- roll can give the same key a new secret while the old one works for a grace period.
CREATE TABLE keys (
    id            TEXT PRIMARY KEY,         -- key_<base62>
    org_id        TEXT NOT NULL REFERENCES orgs(id),
    name          TEXT NOT NULL,
    prefix        TEXT NOT NULL,
    start         TEXT NOT NULL,            -- prefix, '_' and 4 secret characters, for display
    created_at    INTEGER NOT NULL,
    created_by    TEXT NOT NULL,
    expires_at    INTEGER,
    revoked_at    INTEGER,                  -- tombstone: the row stays
    revoke_reason TEXT NOT NULL DEFAULT '',
    last_used_at  INTEGER,
    usage_count   INTEGER NOT NULL DEFAULT 0,
    rate_limit    INTEGER NOT NULL DEFAULT 0,  -- requests per rate_window_ms; 0 = unlimited
    rate_window_ms INTEGER NOT NULL DEFAULT 60000
);
CREATE INDEX keys_org_created ON keys(org_id, created_at DESC, id DESC);

CREATE TABLE key_secrets (
    hash       BLOB PRIMARY KEY,            -- SHA-256 of the whole key string
    key_id     TEXT NOT NULL REFERENCES keys(id),
    created_at INTEGER NOT NULL,
    retires_at INTEGER                      -- set by a roll: the secret stops working then
) WITHOUT ROWID;
CREATE INDEX key_secrets_key ON key_secrets(key_id);

-- revision is bumped by every change that can alter a verification answer, so that a process
-- caching verifications notices changes made by another process (the CLI beside a server).
CREATE TABLE revision (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    rev INTEGER NOT NULL
);
INSERT INTO revision (id, rev) VALUES (1, 0);
CREATE TRIGGER keys_rev_update AFTER UPDATE OF org_id, name, expires_at, revoked_at, rate_limit, rate_window_ms ON keys
BEGIN UPDATE revision SET rev = rev + 1 WHERE id = 1; END;
CREATE TRIGGER key_secrets_rev_insert AFTER INSERT ON key_secrets
BEGIN UPDATE revision SET rev = rev + 1 WHERE id = 1; END;
CREATE TRIGGER key_secrets_rev_update AFTER UPDATE ON key_secrets
BEGIN UPDATE revision SET rev = rev + 1 WHERE id = 1; END;
CREATE TRIGGER key_secrets_rev_delete AFTER DELETE ON key_secrets
BEGIN UPDATE revision SET rev = rev + 1 WHERE id = 1; END;

-- Gateway routes: path prefix -> upstream base URL.
CREATE TABLE routes (
    id               TEXT PRIMARY KEY,      -- rt_<base62>
    prefix           TEXT NOT NULL UNIQUE,
    upstream         TEXT NOT NULL,
    strip_prefix     INTEGER NOT NULL DEFAULT 0,
    org_id           TEXT REFERENCES orgs(id),   -- NULL: any organization
    openapi_source   TEXT NOT NULL DEFAULT '',   -- file path or URL of the upstream document
    auth_required    INTEGER NOT NULL DEFAULT 1,
    query_key_param  TEXT NOT NULL DEFAULT '',   -- '' = keys in the query string refused
    max_body_bytes   INTEGER NOT NULL DEFAULT 0, -- 0 = no limit
    validate_requests INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
CREATE TRIGGER routes_rev_insert AFTER INSERT ON routes BEGIN UPDATE revision SET rev = rev + 1 WHERE id = 1; END;
CREATE TRIGGER routes_rev_update AFTER UPDATE ON routes BEGIN UPDATE revision SET rev = rev + 1 WHERE id = 1; END;
CREATE TRIGGER routes_rev_delete AFTER DELETE ON routes BEGIN UPDATE revision SET rev = rev + 1 WHERE id = 1; END;

-- Settings: small key/value facts (allowed origins as a JSON array, upstream timeout, ...).
CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TRIGGER settings_rev_insert AFTER INSERT ON settings BEGIN UPDATE revision SET rev = rev + 1 WHERE id = 1; END;
CREATE TRIGGER settings_rev_update AFTER UPDATE ON settings BEGIN UPDATE revision SET rev = rev + 1 WHERE id = 1; END;
CREATE TRIGGER settings_rev_delete AFTER DELETE ON settings BEGIN UPDATE revision SET rev = rev + 1 WHERE id = 1; END;

-- Console accounts (serve mode).
CREATE TABLE users (
    id            TEXT PRIMARY KEY,         -- usr_<base62>
    email         TEXT NOT NULL UNIQUE COLLATE NOCASE,
    name          TEXT NOT NULL DEFAULT '',
    password_hash TEXT NOT NULL,            -- argon2id, PHC string
    language      TEXT NOT NULL DEFAULT '',
    theme         TEXT NOT NULL DEFAULT 'system',
    created_at    INTEGER NOT NULL
);

CREATE TABLE memberships (
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    org_id     TEXT NOT NULL REFERENCES orgs(id),
    role       TEXT NOT NULL CHECK (role IN ('admin', 'developer', 'member')),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, org_id)
);

CREATE TABLE sessions (
    id_hash     BLOB PRIMARY KEY,           -- SHA-256 of the cookie value
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL            -- absolute expiry
) WITHOUT ROWID;
CREATE TRIGGER sessions_rev_delete AFTER DELETE ON sessions BEGIN UPDATE revision SET rev = rev + 1 WHERE id = 1; END;

CREATE TABLE setup_tokens (
    token_hash BLOB PRIMARY KEY,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
) WITHOUT ROWID;

CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         INTEGER NOT NULL,
    actor      TEXT NOT NULL,               -- user id, 'local' (desktop) or 'cli'
    org_id     TEXT NOT NULL DEFAULT '',
    action     TEXT NOT NULL,               -- key.create, key.revoke, member.add, login.fail, ...
    target     TEXT NOT NULL DEFAULT '',
    detail     TEXT NOT NULL DEFAULT '',
    client_addr TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_org_at ON audit_log(org_id, at DESC);

-- The persisted, bounded part of the gateway's request log (the gateway prunes old rows).
CREATE TABLE request_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          INTEGER NOT NULL,
    request_id  TEXT NOT NULL,
    method      TEXT NOT NULL,
    path        TEXT NOT NULL,
    status      INTEGER NOT NULL,
    latency_us  INTEGER NOT NULL,
    key_id      TEXT NOT NULL DEFAULT '',
    key_name    TEXT NOT NULL DEFAULT '',
    user_id     TEXT NOT NULL DEFAULT '',
    org_id      TEXT NOT NULL DEFAULT '',
    route       TEXT NOT NULL DEFAULT '',
    error_code  TEXT NOT NULL DEFAULT '',
    client_addr TEXT NOT NULL DEFAULT '',
    headers     TEXT NOT NULL DEFAULT '{}'  -- request headers as JSON, credentials masked
);
CREATE INDEX request_log_at ON request_log(at DESC);
