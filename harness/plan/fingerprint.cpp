#include "plan/fingerprint.hpp"

#include <cstdint>

#include "oom/fnv.hpp"
#include "oom/shell.hpp"
#include "oom/text.hpp"
#include "scenario/scenario.hpp"
#include "oom/units.hpp"

namespace oom {
namespace {

std::string fnv1a64Hex(std::string_view text) { return Fnv1a64().add(text).hex(); }

// "probes.health.http" -> the URL, ".interval", ".timeout", ".status", ...: what the
// clients asked, so a timeline's probe attempts are tied to the probes that made them.
void addProbeFacts(PlanFacts& f, const PlannedProbe& p) {
  const std::string at = "probes." + p.name + ".";
  f[at + p.kind] = p.kind == kProbeCommand ? shellLine(p.command) : p.target;
  if (p.kind == kProbeHttp) f[at + "status"] = std::to_string(p.status);
  if (p.output) f[at + "output"] = *p.output;
  if (!p.service.empty()) f[at + "service"] = p.service;
  f[at + "interval"] = formatDurationExact(Seconds(p.interval_sec));
  f[at + "timeout"] = formatDurationExact(Seconds(p.timeout_sec));
}

}  // namespace

PlanFacts planFacts(const GuestPlan& plan) {
  PlanFacts f;
  f["guest.memory"] = formatSizeExact(plan.guest.memory_bytes);
  f["guest.cpus"] = std::to_string(plan.guest.cpus);
  f["guest.swap"] = formatSizeExact(plan.guest.swap_bytes);
  f["guest.swap_kind"] = plan.guest.swap_kind;
  f["guest.swappiness"] = plan.swappiness < 0 ? "(the kernel's)" : std::to_string(plan.swappiness);
  // Only when set, so that plans without them keep the fingerprint they had.
  std::string packages;
  for (const auto& p : plan.guest.packages) packages += (packages.empty() ? "" : ",") + p;
  if (!packages.empty()) f["guest.packages"] = packages;
  if (!plan.guest.payload_digest.empty()) f["payload"] = "digest " + plan.guest.payload_digest;
  f["time_limit"] = formatDurationExact(Seconds(plan.time_limit_sec));
  f["systemd_oomd"] = plan.oomd ? "on" : "off";
  // oomd.conf's own lines, "[OOM]" aside: one fact per setting.
  for (const auto& line : splitLines(plan.oomd_conf))
    if (const auto eq = line.find('='); eq != std::string_view::npos)
      f["systemd_oomd." + std::string(trim(line.substr(0, eq)))] = std::string(trim(line.substr(eq + 1)));
  for (const auto& u : plan.units) {
    const std::string at = "services." + u.service + ".";
    for (const auto& p : u.properties) f[at + "unit." + p.name] = p.value;
    // oomstress's flags, its path aside: the load as the guest ran it. A service that
    // runs its own program has none (its ExecStart= is in its files, below).
    std::string load;
    for (std::size_t i = 1; i < u.exec_start.size(); ++i) load += (i > 1 ? " " : "") + u.exec_start[i];
    if (!u.exec_start.empty()) f[at + "load"] = load;
    // Real unit files: each by where the guest installs it, its text by a fingerprint (a
    // line systemd passes through is in no directive above). Not by its source path, which
    // depends on where the scenario was run from.
    // A packaged unit (in the image) by its package and version too: another build of
    // the package is another test, even with the same unit text.
    for (const auto& file : u.files.files)
      f[at + "files." + file.guest_path] = "text " + fnv1a64Hex(file.text) + (file.in_image ? ", " + file.source : "");
  }
  for (const auto& p : plan.probes) addProbeFacts(f, p);
  for (const auto& d : plan.drives) {
    const std::string at = "drive." + d.name + ".";
    f[at + "command"] = shellLine(d.exec_start);
    f[at + "start_after"] = formatDurationExact(Seconds(d.start_after_sec));
  }
  return f;
}

std::string planFingerprint(const PlanFacts& facts) { return fnv1a64Hex(nlohmann::json(facts).dump()); }

}  // namespace oom
