// DhWorker: one background thread for the slow part of an authentication, the ephemeral
// finite-field Diffie-Hellman key generation and shared secret of a Challenge (ffdhe8192 takes
// ~8 ms here). The queues that authenticate live on threads that must keep turning: an I/O
// thread's ring loop (its other queues' I/O) and the control thread (keep-alives of every
// controller). They hand the computation to this thread and get the result back through their
// reactor's mailbox (QueueAuth does both).
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace nvmemp::auth {

class DhWorker {
 public:
  // The process's worker, started on first use and stopped (queued jobs finished, thread
  // joined) when the program exits.
  static DhWorker& shared();

  DhWorker();
  ~DhWorker();
  DhWorker(const DhWorker&) = delete;
  DhWorker& operator=(const DhWorker&) = delete;

  // Thread-safe. Jobs run one at a time, in the order given, on the worker's thread. A job
  // must not throw (one that does is a bug: the process terminates).
  void run(std::function<void()> job);

 private:
  void loop();
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace nvmemp::auth
