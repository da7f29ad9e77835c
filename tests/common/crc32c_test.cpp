#include "common/crc32c.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace sluice::crc32c {
namespace {

using ExtendFn = uint32_t (*)(uint32_t, const void*, size_t);

std::vector<std::pair<const char*, ExtendFn>> implementations() {
  std::vector<std::pair<const char*, ExtendFn>> out{{"portable", &extend_portable}, {"dispatch", &extend}};
  if (hardware_available()) out.emplace_back("hardware", &extend_hardware);
  return out;
}

// RFC 3720 (iSCSI) section B.4 check values, plus the common "123456789" check.
TEST(Crc32c, Rfc3720VectorsForEveryImplementation) {
  std::string zeros(32, '\0'), ones(32, '\xff'), ascending(32, '\0'), descending(32, '\0');
  for (int i = 0; i < 32; ++i) {
    ascending[i] = static_cast<char>(i);
    descending[i] = static_cast<char>(31 - i);
  }
  for (auto [name, fn] : implementations()) {
    SCOPED_TRACE(name);
    EXPECT_EQ(fn(0, zeros.data(), zeros.size()), 0x8A9136AAu);
    EXPECT_EQ(fn(0, ones.data(), ones.size()), 0x62A8AB43u);
    EXPECT_EQ(fn(0, ascending.data(), ascending.size()), 0x46DD794Eu);
    EXPECT_EQ(fn(0, descending.data(), descending.size()), 0x113FDB5Cu);
    EXPECT_EQ(fn(0, "123456789", 9), 0xE3069283u);
    EXPECT_EQ(fn(0, "", 0), 0u);
  }
}

// Every length and alignment (the 8-byte loops and the byte tails) gives the same value, and
// extending is the same as one pass over the concatenation.
TEST(Crc32c, ImplementationsAgreeAndExtendComposes) {
  std::mt19937 rng(7);
  std::string data(1000, '\0');
  for (auto& c : data) c = static_cast<char>(rng());
  for (size_t start = 0; start < 9; ++start) {
    for (size_t n = 0; n + start <= data.size(); n += 37) {
      const uint32_t expected = extend_portable(0, data.data() + start, n);
      for (auto [name, fn] : implementations()) {
        ASSERT_EQ(fn(0, data.data() + start, n), expected) << name << " start " << start << " n " << n;
      }
      const size_t split = n / 3;
      EXPECT_EQ(extend(extend(0, data.data() + start, split), data.data() + start + split, n - split),
                expected);
    }
  }
}

TEST(Crc32c, MaskIsReversibleAndChangesTheValue) {
  for (uint32_t crc : {0u, 1u, 0xE3069283u, 0xffffffffu, 0x8A9136AAu}) {
    EXPECT_EQ(unmask(mask(crc)), crc);
    EXPECT_NE(mask(crc), crc);
    EXPECT_NE(mask(mask(crc)), mask(crc));
  }
}

}  // namespace
}  // namespace sluice::crc32c
