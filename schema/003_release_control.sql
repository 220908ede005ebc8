-- 003: a channel can split its traffic between two branches; each app keeps a number of updates
-- per stream when garbage collection prunes history.

ALTER TABLE channels ADD COLUMN split_branch_id INTEGER REFERENCES branches(id);
ALTER TABLE channels ADD COLUMN split_percent INTEGER NOT NULL DEFAULT 0 CHECK (split_percent BETWEEN 0 AND 100);

-- Updates kept per (branch, runtime version, platform), newest first, beyond anything a channel
-- can still serve.
ALTER TABLE apps ADD COLUMN retain_updates INTEGER NOT NULL DEFAULT 20 CHECK (retain_updates >= 1);
