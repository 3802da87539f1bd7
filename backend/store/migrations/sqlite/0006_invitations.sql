-- Invitations (security class 9): adding an address to an organization never makes an existing
-- account a member without its consent. The organization's admin invites the address; the
-- account with that address (now or once it exists) accepts or declines while signed in.
-- Times are Unix milliseconds; an invitation past expires_at is ignored and may be deleted.
CREATE TABLE invitations (
    id         TEXT PRIMARY KEY,
    org_id     TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    email      TEXT NOT NULL,                -- compared case-insensitively (lower-cased here)
    role       TEXT NOT NULL CHECK (role IN ('admin', 'developer', 'member')),
    inviter    TEXT NOT NULL,                -- the inviting actor (user id or 'local')
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    UNIQUE (org_id, email)
);
CREATE INDEX invitations_email ON invitations (email);
