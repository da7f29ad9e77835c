// Table-name patterns as Glue's GetTables and Athena's ListTableMetadata take them (Hive's pattern
// language): alternatives separated by '|', each matched whole and case-insensitively, '*' (or ".*")
// standing for any characters, '.' for any one character, anything else for itself. Matching is a
// dynamic programme over pattern and name, so no pattern can make it slow (as a backtracking regular
// expression engine can be made).
#pragma once

#include <string_view>

namespace sluice::catalog {

// Whether `name` matches the pattern `expression` (see above). An empty expression matches only "".
bool name_matches(std::string_view expression, std::string_view name);

}  // namespace sluice::catalog
