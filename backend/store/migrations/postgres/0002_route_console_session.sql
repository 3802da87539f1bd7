-- Routes opt in to the console session for pages served through the gateway (issue #10,
-- class 10): off for every existing route.
ALTER TABLE routes ADD COLUMN console_session BOOLEAN NOT NULL DEFAULT false;
