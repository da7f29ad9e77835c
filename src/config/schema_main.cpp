// pipeline-schema: prints the JSON Schema of the pipeline file (config/schema.h) on standard output,
// for editors and CI, without the rest of the CLI.
#include <iostream>

#include "config/schema.h"

int main() {
  std::cout << sluice::config::pipeline_json_schema_text();
  return std::cout.good() ? 0 : 1;
}
