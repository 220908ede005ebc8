#include "storage/repos/branches.h"

#include <algorithm>
#include <string>

namespace ota::repos {

Status validate_name(std::string_view what, std::string_view value) {
  bool valid = !value.empty() && value.size() <= 64 && std::all_of(value.begin(), value.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-' || c == '+';
  });
  if (!valid) {
    return invalid_argument(std::string(what) + " \"" + std::string(value.substr(0, 80)) +
                            "\" is not valid: use 1-64 characters of A-Z a-z 0-9 . _ + -");
  }
  return ok();
}

namespace {

template <class Tx>
Result<int64_t> find_app_id(Tx& tx, std::string_view app) {
  OTA_ASSIGN_OR_RETURN(auto q, tx.query("SELECT id FROM apps WHERE name = ?", app));
  OTA_ASSIGN_OR_RETURN(bool found, q.next());
  if (!found) return not_found("no app named \"" + std::string(app.substr(0, 80)) + "\"");
  return q.int64(0);
}

}  // namespace

Result<int64_t> app_id(metadata::WriteTransaction& tx, std::string_view app) { return find_app_id(tx, app); }
Result<int64_t> app_id(metadata::ReadTransaction& tx, std::string_view app) { return find_app_id(tx, app); }

Result<int64_t> ensure_branch(metadata::WriteTransaction& tx, int64_t app_id, std::string_view branch,
                              int64_t now_ms) {
  OTA_TRY(validate_name("branch", branch));
  OTA_ASSIGN_OR_RETURN(auto q, tx.query("SELECT id FROM branches WHERE app_id = ? AND name = ?", app_id, branch));
  OTA_ASSIGN_OR_RETURN(bool found, q.next());
  if (found) return q.int64(0);
  OTA_TRY(tx.execute("INSERT INTO branches (app_id, name, created_at_ms) VALUES (?, ?, ?)", app_id, branch, now_ms));
  return tx.conn().last_insert_rowid();
}

Result<int64_t> channel_branch(metadata::WriteTransaction& tx, int64_t app_id, std::string_view channel) {
  OTA_ASSIGN_OR_RETURN(auto q, tx.query("SELECT branch_id FROM channels WHERE app_id = ? AND name = ?", app_id, channel));
  OTA_ASSIGN_OR_RETURN(bool found, q.next());
  if (!found) return not_found("no channel \"" + std::string(channel) + "\" in this app; publish with --branch, or "
                               "create the channel first");
  return q.int64(0);
}

}  // namespace ota::repos
