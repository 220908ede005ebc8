// Clang's -Wthread-safety annotations; no-ops under GCC. Put the mutex next to what it guards.
#pragma once

#if defined(__clang__)
#define OTA_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define OTA_THREAD_ANNOTATION(x)
#endif

#define OTA_GUARDED_BY(x) OTA_THREAD_ANNOTATION(guarded_by(x))
#define OTA_REQUIRES(...) OTA_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define OTA_EXCLUDES(...) OTA_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
