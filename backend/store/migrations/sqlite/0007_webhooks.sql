-- Webhooks (backend/webhooks): per-organization endpoints, the outbox of deliveries and the
-- notices the expiry scheduler has already sent. Times are Unix milliseconds.
CREATE TABLE webhook_endpoints (
    id         TEXT PRIMARY KEY,
    org_id     TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    url        TEXT NOT NULL,
    events     TEXT NOT NULL,              -- JSON array of event types; [] means every event
    secret     BLOB NOT NULL,              -- the whsec_ secret, sealed (backend/seal), bound to id
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL
);
CREATE INDEX webhook_endpoints_org ON webhook_endpoints (org_id, created_at);

-- One row per event and endpoint; id is the webhook-id the receiver sees (the same on every
-- attempt). A node claims due rows by setting lease_owner/lease_until in a write transaction,
-- so one node delivers each; a lease that runs out (the node died) frees the row again.
CREATE TABLE webhook_deliveries (
    id              TEXT PRIMARY KEY,
    endpoint_id     TEXT NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    org_id          TEXT NOT NULL,
    event           TEXT NOT NULL,
    payload         TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_attempt_at INTEGER,
    last_status     INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    delivered_at    INTEGER,
    lease_owner     TEXT NOT NULL DEFAULT '',
    lease_until     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, created_at);
CREATE INDEX webhook_deliveries_org ON webhook_deliveries (org_id, created_at);

-- Notices already sent about a key: kind expiring_7d, expiring_1d, expired or quota_exhausted;
-- at is the instant the notice is about (the expiry, or the exhaustion), so a changed expiry
-- is noticed again and nothing is sent twice, whichever node looks.
CREATE TABLE webhook_notices (
    key_id TEXT NOT NULL REFERENCES keys(id) ON DELETE CASCADE,
    kind   TEXT NOT NULL,
    at     INTEGER NOT NULL,
    PRIMARY KEY (key_id, kind, at)
);
