-- 006: admin page sessions, adoption counters per update/patch and day, and the runtime versions
-- devices check in with.

-- A signed-in admin page: the cookie holds a random id; only its SHA-256 is stored. A session acts
-- with its token's scope and dies with it (revocation, expiry, deletion).
CREATE TABLE admin_sessions (
  id_sha256     BLOB PRIMARY KEY,
  token_id      TEXT NOT NULL REFERENCES admin_tokens(id) ON DELETE CASCADE,
  csrf_token    TEXT NOT NULL,                   -- sent back in X-CSRF-Token on every change
  created_at_ms INTEGER NOT NULL,
  expires_at_ms INTEGER NOT NULL,
  peer          TEXT NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX admin_sessions_expiry ON admin_sessions (expires_at_ms);

-- Adoption per update or patch and UTC day, added in batches from memory. `devices` and
-- `failed_devices` are HyperLogLog sketches of device ids (telemetry/hll.h): distinct counts
-- that merge across batches in fixed space.
CREATE TABLE usage_daily (
  subject         TEXT NOT NULL CHECK (subject IN ('update', 'patch')),
  subject_id      TEXT NOT NULL,                 -- updates.id or patches.id
  day             INTEGER NOT NULL,              -- days since 1970-01-01 UTC
  served          INTEGER NOT NULL DEFAULT 0,    -- manifests (updates) or check answers (patches)
  downloads       INTEGER NOT NULL DEFAULT 0,    -- launch-asset or patch downloads
  failure_reports INTEGER NOT NULL DEFAULT 0,    -- expo-recent-failed-update-ids naming it
  devices         BLOB,
  failed_devices  BLOB,
  PRIMARY KEY (subject, subject_id, day)
) STRICT, WITHOUT ROWID;

-- Which (platform, runtime version, channel) devices of an app ask for, served or not: the
-- explainer lists the ones with nothing published. Bounded per app by the flush.
CREATE TABLE runtime_checkins (
  app_id          INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
  platform        TEXT NOT NULL,
  runtime_version TEXT NOT NULL,
  channel         TEXT NOT NULL,
  checks          INTEGER NOT NULL DEFAULT 0,
  first_seen_ms   INTEGER NOT NULL,
  last_seen_ms    INTEGER NOT NULL,
  PRIMARY KEY (app_id, platform, runtime_version, channel)
) STRICT, WITHOUT ROWID;
