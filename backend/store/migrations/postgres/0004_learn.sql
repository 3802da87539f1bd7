-- Learning an API from its traffic (backend/learn). A route with learn = true has the shapes of
-- its exchanges recorded: per operation (method and path key such as /users/{int}), the merged
-- shape as JSON — names, types, formats and counts, never a value from the traffic.
ALTER TABLE routes ADD COLUMN learn BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE learned_operations (
    route_id   TEXT NOT NULL REFERENCES routes(id) ON DELETE CASCADE,
    method     TEXT NOT NULL,
    path       TEXT NOT NULL,               -- path key: literal segments, {int} {uuid} {hex} {token}
    shape      TEXT NOT NULL,               -- learn.Operation as JSON
    samples    BIGINT NOT NULL,
    first_seen BIGINT NOT NULL,
    last_seen  BIGINT NOT NULL,
    PRIMARY KEY (route_id, method, path)
);
