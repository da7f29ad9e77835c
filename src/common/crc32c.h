// CRC-32C (Castagnoli, polynomial 0x1EDC6F41 — the checksum of iSCSI, ext4 metadata and LevelDB),
// used to detect torn and corrupted records in on-disk logs. On x86-64 CPUs with SSE4.2 it uses the
// crc32 instruction (several GB/s); elsewhere a slicing-by-8 table (about 1 GB/s). Both give the
// same values; the check values of RFC 3720 section B.4 are in the tests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sluice::crc32c {

// The CRC-32C of `data` appended to data whose CRC-32C is `crc` (start with 0): extend(extend(0, a), b)
// equals the CRC of a followed by b.
uint32_t extend(uint32_t crc, const void* data, size_t n);

inline uint32_t value(const void* data, size_t n) { return extend(0, data, n); }
inline uint32_t value(std::string_view data) { return extend(0, data.data(), data.size()); }

// Why mask: the CRC of a string that contains its own CRC is degenerate, and logs store CRCs next to
// data that may itself hold framed records (a log inside a record). LevelDB's rotate-and-add keeps a
// stored CRC from looking like the CRC of the bytes around it.
inline uint32_t mask(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }
inline uint32_t unmask(uint32_t masked) {
  const uint32_t rot = masked - 0xa282ead8u;
  return (rot >> 17) | (rot << 15);
}

// The two implementations, exposed so that tests can compare them. extend_hardware must only be
// called when hardware_available() is true.
uint32_t extend_portable(uint32_t crc, const void* data, size_t n);
uint32_t extend_hardware(uint32_t crc, const void* data, size_t n);
bool hardware_available();

}  // namespace sluice::crc32c
