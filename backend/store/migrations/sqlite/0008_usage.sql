-- Per-minute usage rollups (backend/usage): one row per minute, organization, key and route,
-- written every few seconds by each gateway node, which adds its counts to the row. Kept for
-- the usage retention setting (90 days by default), apart from the request log and its cap.
-- minute is the minute's start in Unix milliseconds; key_id, org_id and route are '' when
-- unknown (no credential, no route). rejected_codes holds "CODE:n" pairs, latency the
-- non-empty buckets of the latency histogram as "index:count" pairs.
CREATE TABLE usage_minutes (
    minute         INTEGER NOT NULL,
    org_id         TEXT NOT NULL,
    key_id         TEXT NOT NULL,
    route          TEXT NOT NULL,
    total          INTEGER NOT NULL,
    ok             INTEGER NOT NULL,
    client_errors  INTEGER NOT NULL,
    server_errors  INTEGER NOT NULL,
    rejected       INTEGER NOT NULL,
    rejected_codes TEXT NOT NULL DEFAULT '',
    latency        TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (minute, org_id, key_id, route)
);
CREATE INDEX usage_minutes_org ON usage_minutes (org_id, minute);
CREATE INDEX usage_minutes_key ON usage_minutes (key_id, minute);
