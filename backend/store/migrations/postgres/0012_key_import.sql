-- Imported keys (issue 14): a key whose secrets are not in Keygate's format (imported from
-- Better Auth, or moved from an instance that had imported them) cannot be judged by the
-- offline checksum check. While any such key exists, a string that fails that check is still
-- looked up by its hash; see backend/keys (foreign) and docs/security.md.
ALTER TABLE keys ADD COLUMN foreign_secret BOOLEAN NOT NULL DEFAULT false;
CREATE INDEX keys_foreign ON keys(foreign_secret) WHERE foreign_secret;
