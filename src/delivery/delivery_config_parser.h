// The `deliveries:` section of the pipeline file: its key table (for the parser and the JSON
// Schema), its limits and its parser. The stream it reads and the bucket it writes are checked
// against streams: and buckets: where they are read.
#pragma once

#include <chrono>
#include <cstdint>

#include "config/keys.h"
#include "config/reader.h"
#include "delivery/delivery.h"

namespace sluice::delivery {

// Firehose's buffering hints.
inline constexpr uint64_t kMinBufferBytes = uint64_t{1} << 20;
inline constexpr uint64_t kMaxBufferBytes = uint64_t{128} << 20;
inline constexpr std::chrono::milliseconds kMaxBufferInterval = std::chrono::seconds(900);
// Firehose's delivery stream names: 1..64 of [a-zA-Z0-9_.-].
inline constexpr size_t kMaxDeliveryNameBytes = 64;

// The keys of one delivery (deliveries.NAME).
const config::Section& delivery_section();

// Fills `delivery` from one entry of deliveries:, recording every problem in `reader`. Throws only
// ConfigError past the reader's limit of problems.
void parse_delivery(config::Reader& reader, const config::Reader::Entry& entry, DeliveryConfig& delivery);

}  // namespace sluice::delivery
