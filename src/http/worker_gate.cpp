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
  places_.acquire();
  tls_inside = true;
}

void WorkerGate::leave() {
  if (!tls_inside) return;
  tls_inside = false;
  places_.release();
}

void WorkerGate::leave_current() {
  if (tls_gate != nullptr) tls_gate->leave();
}

WorkerGate::Outside::Outside() : left_(tls_gate != nullptr && tls_inside) {
  if (left_) tls_gate->leave();
}

WorkerGate::Outside::~Outside() {
  if (left_) tls_gate->enter();
}

}  // namespace ota::http
