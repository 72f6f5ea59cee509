#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "topology/snapshot_mailbox.h"

using namespace nvmemp::topology;

namespace {
struct Snap {
  int value = 0;
  std::atomic<int>* freed = nullptr;
  ~Snap() {
    if (freed != nullptr) freed->fetch_add(1);
  }
};
}  // namespace

TEST_CASE("Snapshots reach the I/O thread, retired ones are freed by the control thread", "[snapshot]") {
  std::atomic<int> freed{0};
  int wakes = 0;
  SnapshotMailbox<Snap> box([&] { ++wakes; });
  SnapshotPublisher<Snap> pub;
  pub.subscribe(&box);
  CHECK(box.current() == nullptr);
  CHECK_FALSE(box.refresh());

  auto s1 = std::make_shared<Snap>();
  s1->value = 1;
  s1->freed = &freed;
  pub.publish(std::move(s1));
  CHECK(wakes == 1);
  CHECK(box.refresh());
  REQUIRE(box.current() != nullptr);
  CHECK(box.current()->value == 1);
  CHECK_FALSE(box.refresh());  // nothing new

  auto s2 = std::make_shared<Snap>();
  s2->value = 2;
  s2->freed = &freed;
  pub.publish(std::move(s2));
  CHECK(pub.collect() == 1);  // the I/O thread still uses snapshot 1
  CHECK(freed == 0);
  CHECK(box.refresh());
  CHECK(box.current()->value == 2);
  CHECK(box.acked_epoch() == 2);
  CHECK(freed == 0);           // the publisher still holds 1: never freed on the I/O thread
  CHECK(pub.collect() == 0);
  CHECK(freed == 1);           // freed here, on the control thread
}

TEST_CASE("Snapshot publication under a running I/O thread", "[snapshot]") {
  SnapshotMailbox<Snap> box;
  SnapshotPublisher<Snap> pub;
  pub.subscribe(&box);
  std::atomic<bool> stop{false};
  std::atomic<long> seen_sum{0};
  std::atomic<bool> went_back{false};  // Catch2 assertions are not for other threads
  std::jthread io([&] {
    int last = 0;
    for (long i = 0; i < 50'000'000 && !stop.load(std::memory_order_relaxed); ++i) {
      box.refresh();
      if (const Snap* s = box.current()) {
        if (s->value < last) went_back = true;  // epochs only move forward
        last = s->value;
      }
    }
    seen_sum = last;
  });
  for (int v = 1; v <= 1000; ++v) {
    auto s = std::make_shared<Snap>();
    s->value = v;
    pub.publish(std::move(s));
    pub.collect();
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (box.acked_epoch() != 1000 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  stop = true;
  io.join();
  CHECK(seen_sum == 1000);
  CHECK_FALSE(went_back);
  CHECK(pub.collect() == 0);
}
