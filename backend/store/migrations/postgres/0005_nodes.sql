-- Gateway nodes sharing this database register here (backend/nodes); see ../sqlite/0005_nodes.sql.
CREATE TABLE nodes (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    version      TEXT NOT NULL,
    address      TEXT NOT NULL,
    started_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    requests_per_second BIGINT NOT NULL DEFAULT 0
);
