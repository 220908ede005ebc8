-- 001: the data directory's identity. Later migrations add apps, updates, channels and the rest.
-- Each file runs in one transaction together with its schema_migrations row; do not BEGIN/COMMIT.

CREATE TABLE server_state (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT;
