-- Every account has its address key; see ../sqlite/0016_email_key_required.sql.
ALTER TABLE users ALTER COLUMN email_key SET NOT NULL;
