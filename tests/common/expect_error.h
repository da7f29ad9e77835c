// Test helper: that a call fails with the error a test expects, not merely with some error.
//
//   EXPECT_TRUE(fails_with<NotFound>([&] { store.get("raw", "absent"); }, "absent"));
//
// passes when the call throws E (or a class derived from it) whose what() contains `substring`. On
// failure it says what happened instead: nothing thrown, another exception (with its message), or E
// with another message — so a check can no longer be satisfied by an unrelated failure.
#pragma once

#include <gtest/gtest.h>

#include <exception>
#include <string>
#include <string_view>
#include <typeinfo>

#include "common/error.h"

namespace sluice::testing_util {

template <typename E = Error, typename Fn>
::testing::AssertionResult fails_with(Fn&& fn, std::string_view substring) {
  try {
    fn();
  } catch (const E& e) {
    const std::string message = e.what();
    if (message.find(substring) != std::string::npos) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "threw the expected type, but its message \"" << message
                                         << "\" does not contain \"" << substring << "\"";
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "threw another exception (" << typeid(e).name() << "): \""
                                         << e.what() << "\"; expected one containing \"" << substring << "\"";
  } catch (...) {
    return ::testing::AssertionFailure() << "threw something that is not a std::exception";
  }
  return ::testing::AssertionFailure()
         << "threw nothing; expected an error containing \"" << substring << "\"";
}

}  // namespace sluice::testing_util
