-- Keys v2 (issue 14): scopes, disable/enable, metadata, quota with refill, IP allowlist.
-- Lists and maps are JSON text (scopes and allow_ips arrays, metadata an object of strings);
-- times are Unix milliseconds.
ALTER TABLE keys ADD COLUMN scopes TEXT NOT NULL DEFAULT '[]';
ALTER TABLE keys ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}';
ALTER TABLE keys ADD COLUMN allow_ips TEXT NOT NULL DEFAULT '[]';   -- CIDR prefixes, v4 and v6
ALTER TABLE keys ADD COLUMN disabled_at INTEGER;                    -- NULL: enabled
ALTER TABLE keys ADD COLUMN disabled_by TEXT NOT NULL DEFAULT '';
ALTER TABLE keys ADD COLUMN quota_remaining INTEGER;                -- NULL: no quota
ALTER TABLE keys ADD COLUMN refill_amount INTEGER NOT NULL DEFAULT 0;      -- remaining is set to this
ALTER TABLE keys ADD COLUMN refill_interval_ms INTEGER NOT NULL DEFAULT 0; -- every interval; 0: never
ALTER TABLE keys ADD COLUMN last_refill_at INTEGER;
ALTER TABLE keys ADD COLUMN quota_gen INTEGER NOT NULL DEFAULT 0;   -- bumped by every edit of the quota
CREATE INDEX keys_org_expires ON keys(org_id, expires_at);
-- An edit of any of these reaches other processes (the revision the CLI and servers poll). The
-- quota count itself (quota_remaining, last_refill_at) is written every second or on every
-- request and is deliberately not here: an edit of the quota bumps quota_gen.
DROP TRIGGER keys_rev_update;
CREATE TRIGGER keys_rev_update AFTER UPDATE OF org_id, name, expires_at, revoked_at, rate_limit, rate_window_ms,
    scopes, metadata, allow_ips, disabled_at, quota_gen ON keys
BEGIN UPDATE revision SET rev = rev + 1 WHERE id = 1; END;
