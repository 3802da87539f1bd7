-- One-time password reset links an admin issues for a member: the token lives only in the
-- link's fragment, the store keeps its SHA-256. A link works once, for 15 minutes; issuing a new
-- one for the same account drops the unused ones. Times are Unix milliseconds.
CREATE TABLE password_resets (
    token_hash BLOB PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_by TEXT NOT NULL,                -- the issuing actor (user id or 'cli')
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
) WITHOUT ROWID;
CREATE INDEX password_resets_user ON password_resets (user_id);
