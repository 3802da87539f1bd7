-- Credentials pasted into the text the request log keeps (the path, the client's request id,
-- allowlisted header values) are masked as rows are written (gateway.logMask, security.md
-- class 15). Rows written before are masked once, in the background, by a running gateway;
-- masked says which rows are done. New rows are written with masked = 1.
ALTER TABLE request_log ADD COLUMN masked INTEGER NOT NULL DEFAULT 0;
CREATE INDEX request_log_unmasked ON request_log(id) WHERE masked = 0;
