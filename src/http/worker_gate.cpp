#include "http/worker_gate.h"

namespace ota::http {
namespace {
// A worker thread serves exactly one loop for its whole life, so its gate and whether it holds
// a place are per-thread facts.
thread_local WorkerGate* tls_gate = nullptr;
thread_local bool tls_inside = false;
}  // namespace

void WorkerGate::adopt_this_thread() {
  tls_gate = this;
  tls_inside = false;
}

void WorkerGate::enter() {
  if (tls_inside) return;
  std::unique_lock lock(mutex_);
  place_freed_.wait(lock, [this]() OTA_REQUIRES(mutex_) { return free_places_ > 0; });
  --free_places_;
  tls_inside = true;
}

void WorkerGate::leave() {
  if (!tls_inside) return;
  tls_inside = false;
  {
    std::lock_guard lock(mutex_);
    ++free_places_;
  }
  place_freed_.notify_one();
}

void WorkerGate::leave_current() {
  if (tls_gate != nullptr) tls_gate->leave();
}

}  // namespace ota::http
