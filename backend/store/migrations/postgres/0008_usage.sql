-- Per-minute usage rollups (backend/usage); see ../sqlite/0008_usage.sql.
CREATE TABLE usage_minutes (
    minute         BIGINT NOT NULL,
    org_id         TEXT NOT NULL,
    key_id         TEXT NOT NULL,
    route          TEXT NOT NULL,
    total          BIGINT NOT NULL,
    ok             BIGINT NOT NULL,
    client_errors  BIGINT NOT NULL,
    server_errors  BIGINT NOT NULL,
    rejected       BIGINT NOT NULL,
    rejected_codes TEXT NOT NULL DEFAULT '',
    latency        TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (minute, org_id, key_id, route)
);
CREATE INDEX usage_minutes_org ON usage_minutes (org_id, minute);
CREATE INDEX usage_minutes_key ON usage_minutes (key_id, minute);
