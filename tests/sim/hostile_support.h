// Harness of the hostile-target rows (hostile_test.cc): a simulated target whose port 1 is
// told to misbehave, and the library's own Controller and I/O queue on a test control loop
// with 1 s timeouts. Every wait is bounded; a row checks the error's text and its time.
#pragma once

#include <chrono>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "controller/io_queue.h"
#include "sim_support.h"
#include "support/control_loop.h"

namespace nvmemp::test {

inline constexpr std::chrono::milliseconds kHostileTimeout{1000};  // admin and connect timeouts
// How long past its own timeout a failure may take to be reported (loop turns, ASan).
inline constexpr std::chrono::milliseconds kHostileSlack{1500};

bool contains_nocase(std::string_view hay, std::string_view needle);

class HostileRig {
 public:
  explicit HostileRig(sim::SimConfig cfg = small_config());
  ~HostileRig();

  // Runs a control line on the target; REQUIREs success.
  void ctl(const std::string& line);

  struct Outcome {
    std::string error;  // empty: the controller came up
    std::chrono::milliseconds took{0};
  };
  // One bring-up attempt of the controller, waited for (bounded). The first call makes the
  // controller from `opts`.
  Outcome connect();
  // A live controller: REQUIREs that connect() works.
  void connect_ok();
  // I/O queue 1 of the live controller (IoQueue::open: blocking, bounded).
  Result<std::unique_ptr<controller::IoQueue>> open_io();
  // Runs one command on `q`; nullopt when it did not complete within `bound`.
  std::optional<transport::Completion> exec(controller::IoQueue& q, const wire::Sqe& sqe, MutBytes read,
                                            Bytes write, std::chrono::milliseconds bound = std::chrono::seconds(5));

  std::unique_ptr<sim::SimTarget> sim;
  ControlLoop loop;
  controller::ControllerOptions opts;
  std::unique_ptr<controller::Controller> ctrl;  // made from opts by the first connect()
  std::vector<transport::Completion> done;  // completions of exec()'s queue
};

// The row of a misbehaviour during bring-up: after `fault`, one bring-up attempt fails within
// the admin timeout with an error whose text contains every one of `needles` (any case);
// after `undo` (when not empty) the next attempt brings the controller up: recovered.
void expect_bring_up_error(const std::string& fault, std::initializer_list<std::string_view> needles,
                           const std::string& undo = "");

}  // namespace nvmemp::test
