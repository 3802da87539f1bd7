-- Console addresses are compared by one rule, defined in Go (backend/mailaddr.Key), on both
-- engines: users.email_key holds the key of users.email (which stays as it was typed, for
-- display), and an invitation keeps only its address's key. SQL cannot compute the key the
-- same way on both engines, so the store fills both columns in Go right after this file, in the
-- same transaction (keyEmails in backend/store/emailkey.go), and fails the migration, naming
-- the accounts, when two accounts' addresses have the same key.
--
-- COLLATE NOCASE on users.email stays (dropping it would rebuild the table): it folds ASCII
-- letters only, so any two addresses it calls equal have the same key as well.
ALTER TABLE users ADD COLUMN email_key TEXT;
CREATE UNIQUE INDEX users_by_email_key ON users (email_key);
ALTER TABLE invitations RENAME COLUMN email TO email_key;
