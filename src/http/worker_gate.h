// How many workers run request code at once. Measured on 2 cores (manifest, 64 keep-alive
// clients): 64 workers all taking events gave 35k req/s at 44 µs of CPU per request and a p99 of
// 109 ms (every event woke another thread, and the scheduler time-sliced dozens of them); 2-4
// running workers gave 64k req/s, 19 µs and p99 2-3 ms. But threads must also be able to wait
// on a slow client or the disk without stopping everyone else.
//
// So a worker thread must be inside the gate to take an event, at most `limit` at a time; a
// worker about to wait (a slow client's socket, a long admin request) steps outside for the
// rest of that request and another takes its place. `workers` bounds threads (and so the waits in
// progress); the gate bounds the CPU-bound ones.
#pragma once

#include <condition_variable>
#include <mutex>

#include "common/thread_annotations.h"

namespace ota::http {

class WorkerGate {
 public:
  explicit WorkerGate(int limit) : free_places_(limit) {}
  WorkerGate(const WorkerGate&) = delete;
  WorkerGate& operator=(const WorkerGate&) = delete;

  // Called by each worker thread once, before anything else.
  void adopt_this_thread();
  // Blocks until this thread holds a place; nothing if it already does.
  void enter();
  // Gives this thread's place to another worker; nothing if it holds none.
  void leave();

  // For code that does not know its loop: the calling worker thread steps out of its gate
  // (nothing on other threads) and finishes its current request outside. It re-enters before
  // it takes the next event. (Re-entering at once instead would deadlock: the places may all be
  // held by workers idling in epoll_wait, which only give them up when they get an event.)
  static void leave_current();

 private:
  // Workers stay inside across requests, so this plain lock is off the hot path.
  std::mutex mutex_;
  std::condition_variable place_freed_;
  int free_places_ OTA_GUARDED_BY(mutex_);
};

}  // namespace ota::http
