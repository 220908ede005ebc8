// Clang's -Wthread-safety annotations; no-ops under GCC. Put the mutex next to what it guards.
#pragma once

// The analysis needs std::mutex to be a capability, which only libc++ built with
// _LIBCPP_ENABLE_THREAD_SAFETY_ANNOTATIONS declares. With libstdc++ (Debian's default, also for
// clang) every annotation is an error under -Wthread-safety-attributes, so they are no-ops there.
#include <mutex>
#if defined(__clang__) && defined(_LIBCPP_HAS_THREAD_SAFETY_ANNOTATIONS)
#define OTA_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define OTA_THREAD_ANNOTATION(x)
#endif

#define OTA_GUARDED_BY(x) OTA_THREAD_ANNOTATION(guarded_by(x))
#define OTA_REQUIRES(...) OTA_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define OTA_EXCLUDES(...) OTA_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
