-- 005: native hot patches (JSPatch, OCRunner, any patch file), on the same apps, tokens, blob
-- store and audit log as Expo updates.

-- Per-app RSA key that signs patches: separate from the Expo code-signing key. The private key is
-- sealed under secret.key; clients embed the public key (`otaserver keys export-public`).
CREATE TABLE patch_keys (
  app_id             INTEGER PRIMARY KEY REFERENCES apps(id) ON DELETE CASCADE,
  sealed_private_key BLOB NOT NULL,
  public_key_pem     TEXT NOT NULL,
  created_at_ms      INTEGER NOT NULL
) STRICT;

CREATE TABLE patches (
  id              TEXT PRIMARY KEY,              -- lower-case UUID
  app_id          INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
  platform        TEXT NOT NULL CHECK (platform IN ('ios', 'android')),
  version_range   TEXT NOT NULL,                 -- canonical range text; an exact version is "=3.4"
  build           TEXT,                          -- exact build number, or NULL for every build
  seq             INTEGER NOT NULL,              -- strictly increasing per app and platform
  sha256          BLOB NOT NULL,                 -- the patch bytes, a blob
  md5             TEXT NOT NULL,                 -- lower-case hex, for clients that check md5
  size            INTEGER NOT NULL,
  signature       TEXT NOT NULL,                 -- base64 RSASSA-PKCS1-v1_5/SHA-256 over the bytes
  signed_offline  INTEGER NOT NULL DEFAULT 0,    -- 1: uploaded with a signature made elsewhere
  policy          INTEGER NOT NULL DEFAULT 0 CHECK (policy IN (0, 1, 2)),  -- WaitForNextLaunch, AskForNextLaunch, Overwrite
  rollout_percent INTEGER NOT NULL DEFAULT 100 CHECK (rollout_percent BETWEEN 0 AND 100),
  rollout_salt    TEXT NOT NULL,
  preview_devices TEXT,                          -- JSON array: only these device ids get it
  message         TEXT NOT NULL DEFAULT '',
  created_at_ms   INTEGER NOT NULL,
  revoked_at_ms   INTEGER,
  UNIQUE (app_id, platform, seq)
) STRICT;

-- Checks and downloads per patch and app version, added in batches from memory.
CREATE TABLE patch_counters (
  patch_id    TEXT NOT NULL REFERENCES patches(id) ON DELETE CASCADE,
  app_version TEXT NOT NULL,
  checks      INTEGER NOT NULL DEFAULT 0,
  downloads   INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (patch_id, app_version)
) STRICT, WITHOUT ROWID;

-- How an app's patches are delivered.
ALTER TABLE apps ADD COLUMN patch_path_template TEXT;  -- e.g. "/rc/{short}/{build}.config"
ALTER TABLE apps ADD COLUMN patch_signature_line INTEGER NOT NULL DEFAULT 0;  -- 1: signature as a first-line comment
ALTER TABLE apps ADD COLUMN patch_revoked_answer TEXT NOT NULL DEFAULT '404'
  CHECK (patch_revoked_answer IN ('404', 'empty'));
