-- 002: apps, admin tokens and the audit log, signing keys, URL-token keys, branches and
-- channels, update groups, updates and their assets.

CREATE TABLE apps (
  id                 INTEGER PRIMARY KEY,
  name               TEXT NOT NULL UNIQUE,       -- the {app} in /apps/{app}/manifest
  default_channel    TEXT NOT NULL DEFAULT 'production',
  asset_tokens       INTEGER NOT NULL DEFAULT 0, -- 1: asset downloads need a signed, expiring token
  asset_token_ttl_s  INTEGER NOT NULL DEFAULT 86400,
  created_at_ms      INTEGER NOT NULL,
  -- createdAt high-water mark: every new update or rollback marker of the app gets a later time,
  -- even if the wall clock steps back.
  last_created_at_ms INTEGER NOT NULL DEFAULT 0
) STRICT;

-- Code-signing keys per app. The private key is sealed (AES-256-GCM) under a key derived from
-- the data directory's secret.key, so a copy of this file alone does not reveal it.
CREATE TABLE signing_keys (
  id                 INTEGER PRIMARY KEY,
  app_id             INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
  keyid              TEXT NOT NULL,              -- what clients send in expo-expect-signature
  sealed_private_key BLOB NOT NULL,
  certificate_pem    TEXT NOT NULL,
  created_at_ms      INTEGER NOT NULL,
  UNIQUE (app_id, keyid)
) STRICT;

-- HMAC keys for asset tokens, by kid. The newest is used for new tokens; older ones verify
-- tokens until they are retired, so rotation never breaks a token inside its lifetime.
CREATE TABLE url_keys (
  kid           TEXT PRIMARY KEY,
  sealed_key    BLOB NOT NULL,
  created_at_ms INTEGER NOT NULL,
  retired_at_ms INTEGER
) STRICT;

CREATE TABLE admin_tokens (
  id              TEXT PRIMARY KEY,              -- the public part of ota_<id>_<secret>
  name            TEXT NOT NULL,
  secret_sha256   BLOB NOT NULL,
  scope           TEXT NOT NULL CHECK (scope IN ('read', 'publish', 'admin')),
  app_id          INTEGER REFERENCES apps(id) ON DELETE CASCADE,
  created_at_ms   INTEGER NOT NULL,
  expires_at_ms   INTEGER,
  revoked_at_ms   INTEGER,
  last_used_at_ms INTEGER
) STRICT;

CREATE TABLE audit_log (
  id     INTEGER PRIMARY KEY,
  at_ms  INTEGER NOT NULL,
  actor  TEXT NOT NULL,                          -- token id, or "local:<command>"
  peer   TEXT NOT NULL,                          -- client address, or "local"
  action TEXT NOT NULL,                          -- "app.create", "update.publish", ...
  app_id INTEGER,
  target TEXT,
  detail TEXT NOT NULL DEFAULT '{}'              -- JSON
) STRICT;
CREATE INDEX audit_log_app ON audit_log (app_id, at_ms);

CREATE TABLE branches (
  id            INTEGER PRIMARY KEY,
  app_id        INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
  name          TEXT NOT NULL,
  created_at_ms INTEGER NOT NULL,
  UNIQUE (app_id, name)
) STRICT;

-- A channel (what devices send in expo-channel-name) points at a branch.
CREATE TABLE channels (
  id            INTEGER PRIMARY KEY,
  app_id        INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
  name          TEXT NOT NULL,
  branch_id     INTEGER NOT NULL REFERENCES branches(id),
  created_at_ms INTEGER NOT NULL,
  UNIQUE (app_id, name)
) STRICT;

-- One publish: the per-platform updates that were committed together.
CREATE TABLE update_groups (
  id              TEXT PRIMARY KEY,              -- lower-case UUID
  app_id          INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
  branch_id       INTEGER NOT NULL REFERENCES branches(id),
  message         TEXT NOT NULL DEFAULT '',
  git_commit      TEXT,
  git_branch      TEXT,
  created_at_ms   INTEGER NOT NULL,
  idempotency_key TEXT,
  UNIQUE (app_id, idempotency_key)
) STRICT;

-- One manifest (or one roll-back-to-embedded marker) for one platform and runtime version.
CREATE TABLE updates (
  id              TEXT PRIMARY KEY,              -- lower-case UUID: the manifest id
  group_id        TEXT NOT NULL REFERENCES update_groups(id) ON DELETE CASCADE,
  app_id          INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
  branch_id       INTEGER NOT NULL REFERENCES branches(id),
  platform        TEXT NOT NULL CHECK (platform IN ('ios', 'android')),
  runtime_version TEXT NOT NULL,
  kind            TEXT NOT NULL DEFAULT 'update' CHECK (kind IN ('update', 'rollback')),
  created_at_ms   INTEGER NOT NULL,
  extra_json      TEXT NOT NULL DEFAULT '{}',    -- manifest "extra" (expoClient), canonical JSON
  metadata_json   TEXT NOT NULL DEFAULT '{}',    -- manifest "metadata", canonical JSON
  rollout_percent INTEGER NOT NULL DEFAULT 100 CHECK (rollout_percent BETWEEN 0 AND 100),
  rollout_salt    TEXT NOT NULL DEFAULT '',
  state           TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'deactivated'))
) STRICT;
CREATE INDEX updates_stream ON updates (app_id, branch_id, runtime_version, platform, created_at_ms DESC);
CREATE INDEX updates_group ON updates (group_id);

-- Facts about each distinct file, keyed by the SHA-256 of its bytes (the blob key).
CREATE TABLE assets (
  sha256        BLOB PRIMARY KEY,
  md5           TEXT NOT NULL,                   -- lower-case hex: the manifest `key`
  size          INTEGER NOT NULL,
  content_type  TEXT NOT NULL,
  gzip_sha256   BLOB,                            -- stored gzip variant, when smaller
  gzip_size     INTEGER,
  br_sha256     BLOB,                            -- stored brotli variant, when smaller
  br_size       INTEGER,
  created_at_ms INTEGER NOT NULL                 -- Last-Modified
) STRICT, WITHOUT ROWID;

CREATE TABLE update_assets (
  update_id      TEXT NOT NULL REFERENCES updates(id) ON DELETE CASCADE,
  position       INTEGER NOT NULL,               -- 0 is the launch asset
  sha256         BLOB NOT NULL REFERENCES assets(sha256),
  file_extension TEXT NOT NULL,                  -- ".png"; the launch asset's is informational
  PRIMARY KEY (update_id, position)
) STRICT, WITHOUT ROWID;
CREATE INDEX update_assets_sha256 ON update_assets (sha256);
