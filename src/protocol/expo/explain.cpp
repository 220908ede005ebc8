#include "protocol/expo/explain.h"

#include <algorithm>
#include <set>

#include "common/clock.h"
#include "model/rollout.h"

namespace ota::expo {
namespace {

std::string percent_text(uint32_t bucket) {
  // Buckets are in [0, 10000): show them as a percentage with two decimals.
  std::string whole = std::to_string(bucket / 100), frac = std::to_string(bucket % 100);
  if (frac.size() < 2) frac.insert(0, "0");
  return whole + "." + frac + "%";
}

std::string branch_name(const AppSnapshot& app, int64_t id) {
  auto it = app.branch_names.find(id);
  return it == app.branch_names.end() ? "#" + std::to_string(id) : it->second;
}

// The runtime versions the stream's branch has for the platform, for "nothing for this runtime".
std::vector<std::string> runtimes_on(const AppSnapshot& app, int64_t branch_id, model::Platform platform) {
  std::set<std::string> out;
  for (const auto& [key, stream] : app.streams) {
    if (stream.candidates.empty()) continue;
    const model::Update& u = stream.candidates.front()->update;
    if (u.branch_id == branch_id && u.platform == platform) out.insert(u.runtime_version);
  }
  return {out.begin(), out.end()};
}

}  // namespace

std::optional<int64_t> routed_branch(const AppSnapshot& app, const ManifestRequest& req) {
  const std::string& channel = req.channel ? *req.channel : app.app.default_channel;
  auto ch = app.channels.find(channel);
  if (ch == app.channels.end()) return std::nullopt;
  return route_branch(channel, ch->second, req.client_id);
}

Explanation explain(const AppSnapshot& app, const ManifestRequest& req, const std::vector<InactiveUpdate>& inactive) {
  Explanation out;
  auto step = [&](std::string rule, std::string result, std::string detail) {
    out.steps.push_back({std::move(rule), std::move(result), std::move(detail)});
  };
  auto nothing = [&](std::string summary) {
    out.outcome = req.protocol_version == 0 ? "nothing" : "noUpdateAvailable";
    out.summary = std::move(summary);
    return out;
  };
  std::string platform(model::platform_name(req.platform));

  step("request", "info",
       "protocol " + std::to_string(req.protocol_version) + ", platform " + platform + ", runtime version \"" +
           req.runtime_version + "\"" + (req.client_id ? ", EAS-Client-ID " + *req.client_id : ", no EAS-Client-ID") +
           (req.current_update_id ? ", running " + *req.current_update_id : ""));

  const std::string& channel = req.channel ? *req.channel : app.app.default_channel;
  auto ch = app.channels.find(channel);
  if (ch == app.channels.end()) {
    step("channel", "fail",
         "channel \"" + channel + "\" does not exist" + (req.channel ? "" : " (the app's default channel)") +
             "; publish to it (--channel) or create it with PUT /api/v1/apps/" + app.app.name + "/channels/" + channel);
    return nothing("No update: the channel \"" + channel + "\" does not exist.");
  }
  const ChannelRoute& route = ch->second;
  step("channel", "pass",
       "channel \"" + channel + "\"" +
           (req.channel ? "" : " (the app's default; the device sent no expo-channel-name)") + " points at branch \"" +
           branch_name(app, route.branch_id) + "\"");
  int64_t branch_id = route_branch(channel, route, req.client_id);
  if (route.split_branch_id != 0 && route.split_percent > 0) {
    std::string split = branch_name(app, route.split_branch_id);
    if (!req.client_id) {
      step("channel split", "info",
           std::to_string(route.split_percent) + "% of devices go to branch \"" + split +
               "\", chosen by EAS-Client-ID; without one the device stays on the main branch");
    } else {
      uint32_t bucket = model::rollout_bucket("channel:" + channel, *req.client_id);
      bool in = bucket < static_cast<uint32_t>(route.split_percent) * 100;
      step("channel split", in ? "pass" : "skip",
           "the device's bucket is " + percent_text(bucket) + (in ? " < " : " >= ") +
               std::to_string(route.split_percent) + "%: " +
               (in ? "routed to branch \"" + split + "\""
                   : "stays on branch \"" + branch_name(app, route.branch_id) + "\""));
    }
  }
  out.branch = branch_name(app, branch_id);

  auto stream = app.streams.find(stream_key(branch_id, req.runtime_version, req.platform));
  if (stream == app.streams.end()) {
    auto runtimes = runtimes_on(app, branch_id, req.platform);
    std::string have;
    for (const auto& r : runtimes) have += (have.empty() ? "\"" : ", \"") + r + "\"";
    step("runtime version", "fail",
         "branch \"" + out.branch + "\" has no active update for runtime version \"" + req.runtime_version + "\" on " +
             platform + (have.empty() ? " (it has none for this platform at all)" : "; it has " + have));
    for (const auto& u : inactive) {
      out.candidates.push_back({u.id, u.group_id, u.created_at_ms, 0, "update", "excluded",
                                "deactivated: never served; reactivate it to serve it again"});
    }
    return nothing("No update: nothing is published for runtime version \"" + req.runtime_version + "\" on " +
                   platform + " in branch \"" + out.branch + "\".");
  }
  step("runtime version", "pass",
       "branch \"" + out.branch + "\" has " + std::to_string(stream->second.candidates.size()) +
           " servable update(s) for runtime version \"" + req.runtime_version + "\" on " + platform);

  // The device's running update, when the stream knows it: nothing older is an upgrade.
  std::optional<int64_t> running_created;
  for (const auto& c : stream->second.candidates) {
    if (req.current_update_id && c->update.id == *req.current_update_id) running_created = c->update.created_at_ms;
  }

  const ServableUpdate* chosen = nullptr;
  for (const auto& c : stream->second.candidates) {
    const model::Update& u = c->update;
    ExplainCandidate cand{u.id,
                          u.group_id,
                          u.created_at_ms,
                          u.rollout_percent,
                          u.kind == model::UpdateKind::kRollback ? "rollback" : "update",
                          "",
                          ""};
    if (chosen != nullptr) {
      cand.verdict = "not_reached";
      cand.reason = "a newer candidate was chosen first";
      out.candidates.push_back(std::move(cand));
      continue;
    }
    if (u.rollout_percent < 100) {
      if (!req.client_id) {
        cand.verdict = "excluded";
        cand.reason = "rollout " + std::to_string(u.rollout_percent) +
                      "%: devices without EAS-Client-ID are outside every partial rollout";
        out.candidates.push_back(std::move(cand));
        continue;
      }
      uint32_t bucket = model::rollout_bucket(u.rollout_salt, *req.client_id);
      if (bucket >= static_cast<uint32_t>(u.rollout_percent) * 100) {
        cand.verdict = "excluded";
        cand.reason = "outside the rollout: the device's bucket is " + percent_text(bucket) + ", the rollout takes " +
                      std::to_string(u.rollout_percent) + "% (buckets below " +
                      percent_text(static_cast<uint32_t>(u.rollout_percent) * 100) + ")";
        out.candidates.push_back(std::move(cand));
        continue;
      }
      cand.reason =
          "inside the rollout: bucket " + percent_text(bucket) + " < " + std::to_string(u.rollout_percent) + "%";
    } else {
      cand.reason = "rollout 100%";
    }
    chosen = c.get();
    cand.verdict = "chosen";
    out.candidates.push_back(std::move(cand));
  }
  for (const auto& u : inactive) {
    out.candidates.push_back({u.id, u.group_id, u.created_at_ms, 0, "update", "excluded",
                              "deactivated: never served; reactivate it to serve it again"});
  }
  std::sort(out.candidates.begin(), out.candidates.end(),
            [](const ExplainCandidate& a, const ExplainCandidate& b) { return a.created_at_ms > b.created_at_ms; });

  if (chosen == nullptr) {
    step("candidates", "fail", "every candidate excluded this device");
    return nothing("No update: every update for this runtime version excludes this device.");
  }
  const model::Update& u = chosen->update;
  if (u.kind == model::UpdateKind::kRollback) {
    if (req.protocol_version == 0) {
      step("rollback marker", "fail",
           "the newest entry is a roll back to the embedded update; protocol 0 clients "
           "cannot receive directives and get 404");
      out.outcome = "nothing";
      out.summary = "Nothing: a roll back to embedded is published, which protocol 0 clients cannot receive.";
      return out;
    }
    bool on_embedded =
        req.current_update_id && req.embedded_update_id && *req.current_update_id == *req.embedded_update_id;
    if (on_embedded) {
      step("rollback marker", "info", "the device already runs its embedded update");
      out.outcome = "noUpdateAvailable";
      out.summary = "No update: a roll back to embedded is published and the device already runs its embedded update.";
      return out;
    }
    step("rollback marker", "pass", "the newest entry is a roll back to the embedded update (" + u.id + ")");
    out.outcome = "rollBackToEmbedded";
    out.update_id = u.id;
    out.summary = "Roll back to embedded: the device is told to launch the update built into the app.";
    return out;
  }
  if (req.protocol_version >= 1 && req.current_update_id && *req.current_update_id == u.id) {
    step("current update", "info", "the device already runs " + u.id);
    out.outcome = "noUpdateAvailable";
    out.summary = "No update: the device already runs the update it would get (" + u.id + ").";
    return out;
  }
  if (running_created && u.created_at_ms < *running_created) {
    step("current update", "info",
         "the device runs a newer update than " + u.id +
             "; expo-updates launches only newer updates, so it keeps its "
             "own");
  } else if (req.current_update_id && !running_created) {
    step("current update", "info",
         "the device runs " + *req.current_update_id + ", which is not among this stream's servable updates");
  }
  out.outcome = "manifest";
  out.update_id = u.id;
  out.summary =
      "Update " + u.id + " (created " + format_iso8601_ms(u.created_at_ms) + ") from branch \"" + out.branch + "\".";
  size_t newer_excluded = 0;
  for (const auto& c : out.candidates) {
    if (c.verdict == "excluded" && c.created_at_ms > u.created_at_ms) ++newer_excluded;
  }
  if (newer_excluded > 0) {
    out.summary += " " + std::to_string(newer_excluded) + " newer update(s) exclude this device; see the candidates.";
  }
  return out;
}

}  // namespace ota::expo
