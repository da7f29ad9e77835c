// Test helper: what the sanitized build (SLUICE_SANITIZE) cannot test.
#pragma once

#include <gtest/gtest.h>

// UBSan's vptr check probes memory through a pipe it creates per check: in a process with no file
// descriptor left it reports false errors (and the build makes them fatal). Tests that exhaust the
// descriptors run in the plain build only.
#ifdef SLUICE_SANITIZE
#define SLUICE_SKIP_WHEN_SANITIZED_WITHOUT_DESCRIPTORS()                                           \
  GTEST_SKIP() << "UBSan needs free file descriptors for its own checks and reports false errors " \
                  "without them; this test runs in the plain build"
#else
#define SLUICE_SKIP_WHEN_SANITIZED_WITHOUT_DESCRIPTORS() (void)0
#endif
