// How many workers run request code at once. Measured on 2 cores (manifest, 64 keep-alive
// clients): 64 workers all taking events gave 35k req/s at 44 µs of CPU per request and a p99 of
// 109 ms (every event woke another thread, and the scheduler time-sliced dozens of them); 2-4
// running workers gave 64k req/s, 19 µs and p99 2-3 ms. But threads must also be able to wait
// on a slow client or the disk without stopping everyone else.
//
// So every worker thread must be inside the gate to wait for events or run request code, at
// most `limit` at a time; a worker about to wait (a slow client's socket, a long admin request)
// steps outside and another takes its place. `workers` bounds threads (and so the waits in
// progress); the gate bounds the CPU-bound ones.
#pragma once

#include <semaphore>

namespace ota::http {

class WorkerGate {
 public:
  explicit WorkerGate(int limit) : places_(limit) {}
  WorkerGate(const WorkerGate&) = delete;
  WorkerGate& operator=(const WorkerGate&) = delete;

  // Called by each worker thread once, before anything else.
  void adopt_this_thread();
  // Blocks until this thread holds a place; nothing if it already does.
  void enter();
  // Gives this thread's place to another worker; nothing if it holds none.
  void leave();

  // For code that does not know its loop: the calling worker thread steps out of its gate
  // (nothing on other threads). It re-enters before it takes the next event.
  static void leave_current();

  // Leaves for the scope (if inside) and re-enters after.
  class Outside {
   public:
    Outside();
    ~Outside();
    Outside(const Outside&) = delete;
    Outside& operator=(const Outside&) = delete;

   private:
    bool left_;
  };

 private:
  std::counting_semaphore<1 << 20> places_;
};

}  // namespace ota::http
