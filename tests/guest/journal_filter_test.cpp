// Which journal entries become "journal" records, on entries shaped like the
// ones systemd 252 writes for an OOM-killed unit (fields as journalctl -o json).
#include <gtest/gtest.h>

#include "guest/journal_filter.hpp"

namespace oom {
namespace {

const std::set<std::string> kUnits = {"worker.service", "api.service"};

JournalFields systemdEntry(const std::string& message_id, const std::string& unit, const std::string& message) {
  return {{"MESSAGE_ID", message_id},
          {"UNIT", unit},
          {"MESSAGE", message},
          {"INVOCATION_ID", "9cb5885e0ca338e544fb949cf9083569"},
          {"_SYSTEMD_UNIT", "init.scope"},
          {"__MONOTONIC_TIMESTAMP", "41240512"}};
}

TEST(JournalFilter, OomKillMessageAboutAPlannedUnit) {
  auto r = journalRecordFor(systemdEntry("fe6faa94e7774663a0da52717891d8ef", "worker.service",
                                         "worker.service: A process of this unit has been killed by the OOM killer."),
                            kUnits);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->unit, "worker.service");
  EXPECT_EQ(r->MESSAGE_ID, "fe6faa94e7774663a0da52717891d8ef");
  EXPECT_DOUBLE_EQ(r->t, 41.240512);
  EXPECT_EQ(r->INVOCATION_ID, "9cb5885e0ca338e544fb949cf9083569");
  EXPECT_TRUE(r->fields.empty());
}

TEST(JournalFilter, CopiesTheStructuredFields) {
  auto failed = systemdEntry("d9b373ed55a64feb8242e02dbe79a49c", "worker.service",
                             "worker.service: Failed with result 'oom-kill'.");
  failed["UNIT_RESULT"] = "oom-kill";
  auto r = journalRecordFor(failed, kUnits);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->fields.at("UNIT_RESULT"), "oom-kill");

  auto restart = systemdEntry("5eb03494b6584870a536b337290809b3", "worker.service",
                              "worker.service: Scheduled restart job, restart counter is at 2.");
  restart["N_RESTARTS"] = "2";
  EXPECT_EQ(journalRecordFor(restart, kUnits)->fields.at("N_RESTARTS"), "2");

  auto exited = systemdEntry("98e322203f7a4ed290d09fe03c09fe15", "api.service",
                             "api.service: Main process exited, code=killed, status=9/KILL");
  exited["EXIT_CODE"] = "killed";
  exited["EXIT_STATUS"] = "9";
  auto e = journalRecordFor(exited, kUnits);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->fields.at("EXIT_CODE"), "killed");
  EXPECT_EQ(e->fields.at("EXIT_STATUS"), "9");
  EXPECT_EQ(e->fields.count("UNIT_RESULT"), 0u);
}

TEST(JournalFilter, UnitLifecycleMessagesAreKept) {
  for (const char* id : {"39f53479d3a045ac8e11786248231fbf", "be02cf6855d2428ba40df7e9d022f03d",
                         "9d1aaa27d60140bd96365438aad20286", "7ad2d189f7e94e70a38c781354912448"})
    EXPECT_TRUE(journalRecordFor(systemdEntry(id, "api.service", "x"), kUnits)) << id;
}

TEST(JournalFilter, OtherUnitsAndOtherMessagesAreDropped) {
  EXPECT_FALSE(journalRecordFor(systemdEntry("fe6faa94e7774663a0da52717891d8ef", "cron.service", "x"), kUnits));
  // A planned unit, but a message that says nothing about OOM or its lifecycle (reload).
  EXPECT_FALSE(journalRecordFor(systemdEntry("7b05ebc668384222baa8881179cfda54", "api.service", "x"), kUnits));
  EXPECT_FALSE(journalRecordFor({{"MESSAGE", "hello"}}, kUnits));
}

TEST(JournalFilter, SystemdOomdKillIsKept) {
  EXPECT_TRUE(journalRecordFor(systemdEntry("d989611b15e44c9dbf31e3c81256e4ed", "worker.service",
                                            "worker.service: systemd-oomd killed 2 process(es) in this unit."),
                               kUnits));
}

TEST(JournalFilter, UserManagerUnitsUseUserUnitField) {
  JournalFields entry = {{"MESSAGE_ID", "fe6faa94e7774663a0da52717891d8ef"},
                         {"USER_UNIT", "api.service"},
                         {"USER_INVOCATION_ID", "0123456789abcdef0123456789abcdef"},
                         {"MESSAGE", "api.service: A process of this unit has been killed by the OOM killer."},
                         {"__MONOTONIC_TIMESTAMP", "7000001"}};
  auto r = journalRecordFor(entry, kUnits);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->unit, "api.service");
  EXPECT_EQ(r->INVOCATION_ID, "0123456789abcdef0123456789abcdef");
  EXPECT_DOUBLE_EQ(r->t, 7.000001);
  entry["USER_UNIT"] = "cron.service";
  EXPECT_FALSE(journalRecordFor(entry, kUnits));
}

TEST(JournalFilter, TimestampIsMonotonicMicroseconds) {
  auto entry = systemdEntry("fe6faa94e7774663a0da52717891d8ef", "api.service", "x");
  entry["__MONOTONIC_TIMESTAMP"] = "1";
  EXPECT_DOUBLE_EQ(journalRecordFor(entry, kUnits)->t, 0.000001);
  entry["__MONOTONIC_TIMESTAMP"] = "3600000000";
  EXPECT_DOUBLE_EQ(journalRecordFor(entry, kUnits)->t, 3600.0);
  entry["__MONOTONIC_TIMESTAMP"] = "-5";  // malformed: 0, never a wrapped huge value
  EXPECT_DOUBLE_EQ(journalRecordFor(entry, kUnits)->t, 0.0);
  entry.erase("__MONOTONIC_TIMESTAMP");
  EXPECT_DOUBLE_EQ(journalRecordFor(entry, kUnits)->t, 0.0);
}

TEST(JournalFilter, FieldNamesReadCoverWhatTheFilterUses) {
  std::set<std::string> names(kJournalFieldNames, kJournalFieldNames + kJournalFieldCount);
  for (const char* n : {"MESSAGE_ID", "UNIT", "USER_UNIT", "MESSAGE", "INVOCATION_ID", "USER_INVOCATION_ID",
                        "UNIT_RESULT", "N_RESTARTS", "EXIT_CODE", "EXIT_STATUS", "JOB_RESULT", "JOB_TYPE",
                        "_SYSTEMD_UNIT", "_SYSTEMD_INVOCATION_ID"})
    EXPECT_TRUE(names.count(n)) << n;
}

TEST(JournalFilter, StressorEventsFromInsideAPlannedUnit) {
  JournalFields entry = {{"MESSAGE", "{\"event\":\"resumed\",\"pid\":412,\"resumed_from\":104857600}"},
                         {"_SYSTEMD_UNIT", "worker.service"},
                         {"_SYSTEMD_INVOCATION_ID", "1812664a4b9d123de96ddc47627660eb"},
                         {"__MONOTONIC_TIMESTAMP", "50000000"}};
  auto r = journalRecordFor(entry, kUnits);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->unit, "worker.service");
  EXPECT_EQ(r->INVOCATION_ID, "1812664a4b9d123de96ddc47627660eb");
  EXPECT_EQ(r->fields.at("SOURCE"), "oomstress");
  EXPECT_DOUBLE_EQ(r->t, 50.0);
  // Its periodic progress lines are not events.
  entry["MESSAGE"] = "{\"t\":1.0,\"pid\":412,\"phase\":\"leak\"}";
  EXPECT_FALSE(journalRecordFor(entry, kUnits));
}


// systemd-oomd's own line says why it killed: kept, attributed to the unit its
// cgroup path ends in (bookworm's wording, 2026-11-29).
TEST(JournalFilter, SystemdOomdsKillLineIsKeptAndAttributedToTheUnit) {
  JournalFields oomd = {{"MESSAGE", "Killed /system.slice/worker.service due to memory used (746897408) / total "
                                    "(754962432) and swap used (437452800) / total (536866816) being more than 80.00%"},
                        {"_SYSTEMD_UNIT", "systemd-oomd.service"},
                        {"__MONOTONIC_TIMESTAMP", "52000000"}};
  auto r = journalRecordFor(oomd, kUnits);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->unit, "worker.service");
  EXPECT_EQ(r->fields.at("SOURCE"), "systemd-oomd.service");
  EXPECT_DOUBLE_EQ(r->t, 52.0);
  // Outside the scenario: kept under its cgroup path (the collateral check reads it).
  oomd["MESSAGE"] = "Killed /system.slice/cron.service due to memory pressure for / being 71.20% > 50.00%";
  EXPECT_EQ(journalRecordFor(oomd, kUnits)->unit, "/system.slice/cron.service");
  // Its other lines are not evidence.
  oomd["MESSAGE"] = "Swap used (437452800) / total (536866816) is more than 80%";
  EXPECT_FALSE(journalRecordFor(oomd, kUnits).has_value());
}

// The ranking systemd-oomd logs before a kill, one journal entry per line (systemd
// 252 and 257): kept under systemd-oomd.service, never as a kill of its own.
TEST(JournalFilter, SystemdOomdsRankingLinesAreKeptAsItsOwn) {
  for (const char* line : {"Considered 11 cgroups for killing, top candidates were:",
                           "\tPath: /batch.slice/batch.service", "\t\tSwap Usage: 170.8M"}) {
    const JournalFields f = {{"MESSAGE", line}, {"_SYSTEMD_UNIT", "systemd-oomd.service"}, {"__MONOTONIC_TIMESTAMP", "47837801"}};
    auto r = journalRecordFor(f, kUnits);
    ASSERT_TRUE(r.has_value()) << line;
    EXPECT_EQ(r->unit, "systemd-oomd.service");
    EXPECT_EQ(r->MESSAGE, line);
    EXPECT_EQ(r->fields.at("SOURCE"), "systemd-oomd.service");
  }
  // The same words from another unit are not oomd's.
  const JournalFields other = {{"MESSAGE", "\tPath: /batch.slice/batch.service"}, {"_SYSTEMD_UNIT", "cron.service"}};
  EXPECT_FALSE(journalRecordFor(other, kUnits).has_value());
}

}  // namespace
}  // namespace oom
