// Bus calls awaited through an event loop (Bus::waitForRepliesWith), as the
// observer does: a fake systemd on a peer-to-peer connection answers late, and
// what it sends meanwhile must be dispatched before the call returns.
#include <sys/socket.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>
#include <systemd/sd-id128.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "live/bus.hpp"
#include "oom/clock.hpp"

using namespace oom;

namespace {

constexpr std::uint64_t kMs = 1000;

// systemd's manager, as far as these tests need it: answers each method call
// `reply_after_ms` later, and sends a JobRemoved signal halfway through the wait.
struct FakeManager {
  sd_event* loop = nullptr;
  sd_bus* bus = nullptr;
  sd_bus_slot* object = nullptr;
  std::uint64_t reply_after_ms = 300;
  const char* error_name = nullptr;  // answer with this error instead
  std::vector<std::string> calls;

  struct Pending {
    FakeManager* fake;
    sd_bus_message* call;
  };
  std::vector<Pending*> pending;

  static int onCall(sd_bus_message* m, void* self, sd_bus_error*) {
    auto* f = static_cast<FakeManager*>(self);
    if (!sd_bus_message_is_method_call(m, nullptr, nullptr)) return 0;
    f->calls.emplace_back(sd_bus_message_get_member(m));
    auto* p = new Pending{f, sd_bus_message_ref(m)};
    f->pending.push_back(p);
    sd_event_add_time_relative(f->loop, nullptr, CLOCK_MONOTONIC, f->reply_after_ms / 2 * kMs, 0, onSignalTime, p);
    sd_event_add_time_relative(f->loop, nullptr, CLOCK_MONOTONIC, f->reply_after_ms * kMs, 0, onReplyTime, p);
    return 1;
  }
  static int onSignalTime(sd_event_source*, uint64_t, void* pending) {
    auto* p = static_cast<Pending*>(pending);
    sd_bus_emit_signal(p->fake->bus, "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager", "JobRemoved",
                       "uoss", 7u, "/org/freedesktop/systemd1/job/7", "api.service", "done");
    return 0;
  }
  static int onReplyTime(sd_event_source*, uint64_t, void* pending) {
    auto* p = static_cast<Pending*>(pending);
    const std::string member = sd_bus_message_get_member(p->call);
    if (p->fake->error_name)
      sd_bus_reply_method_errorf(p->call, p->fake->error_name, "%s refused by the fake", member.c_str());
    else if (member == "StartUnit")
      sd_bus_reply_method_return(p->call, "o", "/org/freedesktop/systemd1/job/7");
    else
      sd_bus_reply_method_return(p->call, "");
    return 0;
  }
  ~FakeManager() {
    for (auto* p : pending) {
      sd_bus_message_unref(p->call);
      delete p;
    }
    sd_bus_slot_unref(object);
    sd_bus_flush_close_unref(bus);
  }
};

class BusWait : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_GE(sd_event_new(&loop_), 0);
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    sd_id128_t id;
    ASSERT_GE(sd_id128_randomize(&id), 0);
    fake_.loop = loop_;
    ASSERT_GE(sd_bus_new(&fake_.bus), 0);
    sd_bus_set_fd(fake_.bus, fds[0], fds[0]);
    sd_bus_set_server(fake_.bus, 1, id);
    sd_bus_set_anonymous(fake_.bus, 1);
    ASSERT_GE(sd_bus_start(fake_.bus), 0);
    ASSERT_GE(sd_bus_add_object(fake_.bus, &fake_.object, "/org/freedesktop/systemd1", FakeManager::onCall, &fake_), 0);
    ASSERT_GE(sd_bus_attach_event(fake_.bus, loop_, 0), 0);

    sd_bus* client = nullptr;
    ASSERT_GE(sd_bus_new(&client), 0);
    sd_bus_set_fd(client, fds[1], fds[1]);
    sd_bus_set_anonymous(client, 1);
    ASSERT_GE(sd_bus_start(client), 0);
    bus_.emplace(Bus::adopt(client));
    ASSERT_GE(sd_bus_attach_event(client, loop_, 0), 0);
    ASSERT_GE(sd_bus_match_signal(client, &match_, nullptr, nullptr, "org.freedesktop.systemd1.Manager", "JobRemoved",
                                  onJobRemoved, this),
              0);
    // The observer's waiter, reduced to what it does: run the loop, note each turn.
    bus_->waitForRepliesWith([this](const std::function<bool()>& arrived, double deadline) {
      while (!arrived() && monotonicSeconds() < deadline) {
        ++turns_;
        sd_event_run(loop_, 50 * kMs);
      }
    });
  }
  void TearDown() override {
    sd_bus_slot_unref(match_);
    if (bus_) sd_bus_detach_event(bus_->get());
    bus_.reset();
    sd_bus_detach_event(fake_.bus);
  }
  ~BusWait() override { sd_event_unref(loop_); }

  static int onJobRemoved(sd_bus_message*, void* self, sd_bus_error*) {
    static_cast<BusWait*>(self)->signals_++;
    return 0;
  }

  sd_event* loop_ = nullptr;
  FakeManager fake_;
  std::optional<Bus> bus_;
  sd_bus_slot* match_ = nullptr;
  int turns_ = 0;
  int signals_ = 0;
};

}  // namespace

TEST_F(BusWait, ReloadReturnsOnceAnsweredAndTheLoopRanMeanwhile) {
  const double t0 = monotonicSeconds();
  ASSERT_TRUE(bus_->reload());
  EXPECT_GE(monotonicSeconds() - t0, 0.25);
  EXPECT_EQ(fake_.calls, std::vector<std::string>{"Reload"});
  EXPECT_GE(turns_, 3);        // the loop ran in 50 ms turns while the fake held its answer
  EXPECT_EQ(signals_, 1);      // the signal sent before the answer was dispatched before reload() returned
}

TEST_F(BusWait, StartUnitReadsTheJobFromTheAwaitedReply) {
  const auto job = bus_->startUnit("api.service");
  ASSERT_TRUE(job) << job.error().str();
  EXPECT_EQ(*job, "/org/freedesktop/systemd1/job/7");
  EXPECT_EQ(signals_, 1);
}

TEST_F(BusWait, AnErrorAnswerIsTheCallsError) {
  fake_.error_name = "org.freedesktop.DBus.Error.AccessDenied";
  const auto reloaded = bus_->reload();
  ASSERT_FALSE(reloaded);
  EXPECT_NE(reloaded.error().str().find("Reload refused by the fake"), std::string::npos) << reloaded.error().str();
}

