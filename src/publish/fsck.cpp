#include "publish/fsck.h"

#include <map>
#include <set>

#include "crypto/digest.h"

namespace ota::publish {

Result<FsckReport> check_consistency(storage::Storage& storage, bool deep) {
  FsckReport r;
  auto problem = [&](std::string p) {
    if (r.problems.size() < 1000) r.problems.push_back(std::move(p));
  };
  OTA_ASSIGN_OR_RETURN(auto tx, storage.db().begin_read());
  {
    OTA_ASSIGN_OR_RETURN(auto q, tx.query("PRAGMA quick_check"));
    while (true) {
      OTA_ASSIGN_OR_RETURN(bool row, q.next());
      if (!row) break;
      if (q.text(0) != "ok") problem("sqlite quick_check: " + q.text(0));
    }
    OTA_ASSIGN_OR_RETURN(auto fk, tx.query("PRAGMA foreign_key_check"));
    OTA_ASSIGN_OR_RETURN(bool violation, fk.next());
    if (violation) problem("sqlite foreign_key_check: a row in " + fk.text(0) + " references a missing row");
  }

  // Expected blobs and their sizes.
  std::map<crypto::Sha256, uint64_t> expected;
  {
    OTA_ASSIGN_OR_RETURN(auto q, tx.query("SELECT a.sha256, a.size, a.gzip_sha256, a.gzip_size, a.br_sha256, a.br_size "
                                          "FROM assets a WHERE a.sha256 IN (SELECT sha256 FROM update_assets)"));
    while (true) {
      OTA_ASSIGN_OR_RETURN(bool row, q.next());
      if (!row) break;
      for (int col : {0, 2, 4}) {
        if (q.is_null(col)) continue;
        auto d = crypto::Sha256::from_bytes(q.blob(col));
        if (!d) {
          problem("assets table holds a malformed digest");
          continue;
        }
        expected[*d] = static_cast<uint64_t>(q.int64(col + 1));
      }
    }
    OTA_ASSIGN_OR_RETURN(auto missing, tx.query("SELECT count(*) FROM update_assets WHERE sha256 NOT IN "
                                                "(SELECT sha256 FROM assets)"));
    OTA_ASSIGN_OR_RETURN(bool row, missing.next());
    if (row && missing.int64(0) > 0) problem(std::to_string(missing.int64(0)) + " update assets have no asset row");
  }
  {
    // Patch bytes, revoked ones included (unrevoking serves them again).
    OTA_ASSIGN_OR_RETURN(auto q, tx.query("SELECT sha256, size, id FROM patches"));
    while (true) {
      OTA_ASSIGN_OR_RETURN(bool row, q.next());
      if (!row) break;
      auto d = crypto::Sha256::from_bytes(q.blob(0));
      if (!d) {
        problem("patch " + q.text(2) + " holds a malformed digest");
        continue;
      }
      expected[*d] = static_cast<uint64_t>(q.int64(1));
    }
  }
  r.referenced_blobs = static_cast<int>(expected.size());
  for (const auto& [d, size] : expected) {
    OTA_ASSIGN_OR_RETURN(auto stored, storage.blobs().size(d));
    if (!stored) {
      problem("blob " + d.base64url() + " is referenced but missing");
    } else if (*stored != size) {
      problem("blob " + d.base64url() + " has " + std::to_string(*stored) + " bytes, expected " + std::to_string(size));
    }
  }
  {
    OTA_ASSIGN_OR_RETURN(auto q, tx.query("SELECT count(*) FROM updates"));
    OTA_ASSIGN_OR_RETURN(bool row, q.next());
    r.updates = row ? static_cast<int>(q.int64(0)) : 0;
    OTA_ASSIGN_OR_RETURN(auto g, tx.query("SELECT count(*) FROM update_groups"));
    OTA_ASSIGN_OR_RETURN(row, g.next());
    r.groups = row ? static_cast<int>(g.int64(0)) : 0;
    OTA_ASSIGN_OR_RETURN(auto nolaunch, tx.query("SELECT id FROM updates u WHERE kind = 'update' AND NOT EXISTS "
                                                 "(SELECT 1 FROM update_assets ua WHERE ua.update_id = u.id AND "
                                                 "ua.position = 0) LIMIT 10"));
    while (true) {
      OTA_ASSIGN_OR_RETURN(bool bad, nolaunch.next());
      if (!bad) break;
      problem("update " + nolaunch.text(0) + " has no launch asset");
    }
    OTA_ASSIGN_OR_RETURN(auto empty,
                         tx.query("SELECT id FROM update_groups g WHERE NOT EXISTS (SELECT 1 FROM updates u "
                                  "WHERE u.group_id = g.id) LIMIT 10"));
    while (true) {
      OTA_ASSIGN_OR_RETURN(bool bad, empty.next());
      if (!bad) break;
      problem("update group " + empty.text(0) + " has no updates");
    }
    OTA_ASSIGN_OR_RETURN(auto future, tx.query("SELECT u.id FROM updates u JOIN apps a ON a.id = u.app_id WHERE "
                                               "u.created_at_ms > a.last_created_at_ms LIMIT 10"));
    while (true) {
      OTA_ASSIGN_OR_RETURN(bool bad, future.next());
      if (!bad) break;
      problem("update " + future.text(0) + " is newer than its app's createdAt high-water mark");
    }
  }

  std::vector<crypto::Sha256> all;
  OTA_TRY(storage.blobs().for_each([&](const crypto::Sha256& d, uint64_t size) {
    ++r.blobs;
    r.blob_bytes += size;
    if (!expected.contains(d)) {
      ++r.orphans;
      r.orphan_bytes += size;
      if (r.orphan_list.size() < 1000) r.orphan_list.emplace_back(d.base64url(), size);
    }
    if (deep) all.push_back(d);
    return true;
  }));
  for (const auto& d : all) {
    OTA_ASSIGN_OR_RETURN(auto blob, storage.blobs().get(d));
    if (!blob) continue;
    ++r.hashed;
    if (crypto::sha256(blob->bytes()) != d) problem("blob " + d.base64url() + " does not hash to its key");
  }
  return r;
}

}  // namespace ota::publish
