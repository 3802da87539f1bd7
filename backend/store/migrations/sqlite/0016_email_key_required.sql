-- Every account has its address key (0015_email_key): SQL cannot compute it, so a row without
-- one, which would escape the unique index and every lookup by address, is refused. (SQLite
-- cannot add NOT NULL to an existing column without rebuilding the table; PostgreSQL's dialect
-- of this file does.)
CREATE TRIGGER users_email_key_insert BEFORE INSERT ON users WHEN NEW.email_key IS NULL
BEGIN SELECT RAISE(ABORT, 'NOT NULL constraint failed: users.email_key (mailaddr.Key of the address)'); END;
CREATE TRIGGER users_email_key_update BEFORE UPDATE OF email_key ON users WHEN NEW.email_key IS NULL
BEGIN SELECT RAISE(ABORT, 'NOT NULL constraint failed: users.email_key (mailaddr.Key of the address)'); END;
