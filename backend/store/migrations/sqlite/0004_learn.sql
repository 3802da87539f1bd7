-- Learning an API from its traffic (backend/learn). A route with learn = 1 has the shapes of
-- its exchanges recorded: per operation (method and path key such as /users/{int}), the merged
-- shape as JSON — names, types, formats and counts, never a value from the traffic.
ALTER TABLE routes ADD COLUMN learn INTEGER NOT NULL DEFAULT 0;

CREATE TABLE learned_operations (
    route_id   TEXT NOT NULL REFERENCES routes(id) ON DELETE CASCADE,
    method     TEXT NOT NULL,
    path       TEXT NOT NULL,               -- path key: literal segments, {int} {uuid} {hex} {token}
    shape      TEXT NOT NULL,               -- learn.Operation as JSON
    samples    INTEGER NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL,
    PRIMARY KEY (route_id, method, path)
);
