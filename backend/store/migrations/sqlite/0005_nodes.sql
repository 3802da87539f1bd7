-- Gateway nodes sharing this database register here (backend/nodes): one row per running
-- `keygate serve`, refreshed every few seconds; a row not refreshed for 15 s is a node that is
-- gone. Times are Unix milliseconds.
CREATE TABLE nodes (
    id           TEXT PRIMARY KEY,          -- random per process start
    name         TEXT NOT NULL,             -- host name
    version      TEXT NOT NULL,
    address      TEXT NOT NULL,             -- the gateway's URL
    started_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    requests_per_second INTEGER NOT NULL DEFAULT 0
);
