// The example pipeline (examples/jsonplaceholder/pipeline.yaml), compiled into the binary so that
// `sluice demo` needs no file beside it.
#pragma once

#include <string_view>

namespace sluice::cli {
std::string_view embedded_example_pipeline();
}
