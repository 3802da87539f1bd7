-- One comparison rule for console addresses on both engines; see ../sqlite/0015_email_key.sql.
-- The ICU collation of 0001 (which also merged addresses the key keeps apart, such as ² and 2)
-- no longer decides anything: users.email is plain text kept as typed, and uniqueness and
-- lookups use email_key, compared byte for byte ("C") as SQLite compares it.
ALTER TABLE users DROP CONSTRAINT users_email_key;
ALTER TABLE users ALTER COLUMN email TYPE TEXT COLLATE "default";
DROP COLLATION keygate_nocase;
ALTER TABLE users ADD COLUMN email_key TEXT COLLATE "C";
CREATE UNIQUE INDEX users_by_email_key ON users (email_key);
ALTER TABLE invitations RENAME COLUMN email TO email_key;
ALTER TABLE invitations ALTER COLUMN email_key TYPE TEXT COLLATE "C";
