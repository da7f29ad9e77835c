// Whole-buffer compression for objects: gzip (libdeflate; what S3 users and Firehose write) and zstd.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace sluice::compress {

// True when `data` starts with the gzip magic bytes (1f 8b).
bool is_gzip(std::string_view data);

// gzip of `data` at `level` (1..12, libdeflate's scale; 6 is gzip's default).
std::string gzip(std::string_view data, int level = 6);
// Decompresses every gzip member of `data` (concatenated members are one stream, as gunzip reads
// them). Throws sluice::Error when the data is not valid gzip or would exceed `max_bytes`.
std::string gunzip(std::string_view data, size_t max_bytes = size_t{4} << 30);

std::string zstd(std::string_view data, int level = 3);
std::string unzstd(std::string_view data, size_t max_bytes = size_t{4} << 30);

}  // namespace sluice::compress
