// note.rejudged: the timeline was recorded with another plan than the scenario gives
// (checks/binding.hpp). `evaluate` refuses such a pair unless asked to re-judge; a
// verdict reached anyway carries this note and says so in its reason.
#include "check_context.hpp"
#include "checks/binding.hpp"
#include "plan/planner.hpp"

namespace oom {

static void noteRejudged(const CheckContext& ctx, const std::string& /*scenario-wide*/, Checks& out) {
  const auto plan = makeGuestPlan(ctx.scenario);
  if (!plan) return;  // a scenario without a plan never got this far
  const PlanBinding binding = bindTimeline(*plan, ctx.index.timeline());
  if (binding.bound()) return;
  CheckResult c{.name = "note.rejudged",
                .outcome = CheckOutcome::note,
                .expected = "the timeline was recorded with this scenario's plan (compared by " + binding.by + ")"};
  for (const auto& d : binding.differences)
    c.evidence.push_back(Evidence{d.t, d.source, "", "", 0, d.str()});
  c.observed = "re-judged against a changed scenario: " + std::to_string(binding.differences.size()) +
               " difference(s), first " + binding.differences.front().str();
  out.push_back(std::move(c));
}

extern const CheckDef kCheck_rejudged{
    .name = "note.rejudged",
    .kind = CheckKind::note,
    .naming = CheckNaming::scenario,
    .blind = kBlindRecordsOnly,
    .passes_when = "(a note) the timeline was recorded with another plan than the scenario gives (its `plan` record's "
                   "facts, or for older timelines the guest's memory and swap, oomd and each unit's settings as "
                   "recorded) and was judged anyway (`evaluate --rejudge`); the verdict's reason says so",
    .evidence = "each difference: the field, what the timeline says, what the scenario says",
    .judge = noteRejudged,
};

}  // namespace oom
