#include <catch2/catch.hpp>

#include "controller/ctrl_state.h"
#include "controller/keep_alive.h"

using namespace nvmemp;
using namespace nvmemp::controller;

TEST_CASE("Controller transition table", "[controller]") {
  using S = CtrlState;
  const S all[] = {S::New, S::Connecting, S::Live, S::Resetting, S::Deleting, S::Dead};
  // Exactly these transitions are allowed.
  const std::pair<S, S> allowed[] = {
      {S::New, S::Connecting},      {S::Resetting, S::Connecting}, {S::Connecting, S::Live},
      {S::Live, S::Resetting},      {S::New, S::Deleting},         {S::Connecting, S::Deleting},
      {S::Live, S::Deleting},       {S::Resetting, S::Deleting},   {S::Deleting, S::Dead},
  };
  for (S from : all) {
    for (S to : all) {
      bool want = false;
      for (const auto& [f, t] : allowed) want = want || (f == from && t == to);
      INFO(ctrl_state_name(from) << " -> " << ctrl_state_name(to));
      CHECK(ctrl_transition_allowed(from, to) == want);
    }
  }
}

TEST_CASE("Controller state machine refuses what the table refuses", "[controller]") {
  CtrlStateMachine m;
  CHECK(m.state() == CtrlState::New);
  CHECK_FALSE(m.change(CtrlState::Live));
  CHECK(m.change(CtrlState::Connecting));
  CHECK(m.change(CtrlState::Live));
  CHECK(m.change(CtrlState::Resetting));
  CHECK_FALSE(m.change(CtrlState::Live));  // must reconnect first
  CHECK(m.change(CtrlState::Connecting));
  CHECK(m.change(CtrlState::Deleting));
  CHECK_FALSE(m.change(CtrlState::Connecting));
  CHECK(m.change(CtrlState::Dead));
  CHECK(m.state() == CtrlState::Dead);
  CHECK_FALSE(m.change(CtrlState::Deleting));
}

TEST_CASE("Keep-alive at KATO/2, expiry after KATO without completion", "[controller][keep_alive]") {
  using namespace std::chrono_literals;
  ManualClock clk;
  KeepAlive ka(5s, false);
  ka.start(clk.now());
  CHECK(ka.interval() == 2500ms);
  clk.advance(2499ms);
  CHECK_FALSE(ka.due(clk.now()));
  clk.advance(1ms);
  CHECK(ka.due(clk.now()));
  ka.on_sent(clk.now());
  CHECK_FALSE(ka.due(clk.now()));
  CHECK(ka.next_deadline() == clk.now() + 5s);
  clk.advance(4999ms);
  CHECK_FALSE(ka.expired(clk.now()));
  clk.advance(1ms);
  CHECK(ka.expired(clk.now()));
  ka.on_completed(clk.now());
  CHECK_FALSE(ka.expired(clk.now()));

  SECTION("traffic-based keep-alive skips it while commands complete") {
    KeepAlive tb(5s, true);
    tb.start(clk.now());
    clk.advance(2s);
    tb.on_traffic(clk.now());
    clk.advance(2s);
    CHECK_FALSE(tb.due(clk.now()));  // traffic 2 s ago
    clk.advance(500ms);
    CHECK(tb.due(clk.now()));
  }
  SECTION("disabled with KATO 0") {
    KeepAlive off(0s, false);
    off.start(clk.now());
    clk.advance(1000s);
    CHECK_FALSE(off.due(clk.now()));
    CHECK(off.next_deadline() == TimePoint::max());
  }
}
