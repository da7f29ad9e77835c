// "Processing runs on an in-memory DuckDB that may touch only a private scratch folder" (README):
// the processor's own DuckDB, read back from inside a step — its configuration is locked with
// external access off and only the private folder allowed — and a step that reads a file anywhere
// else (the system's, or the data directory's beside the scratch folder) fails as the input's fault
// with DuckDB's Permission Error. (tests/sql and tests/query check sql::Database and the query
// engine; this is the processor's sql::Session.)
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/fs.h"
#include "tests/common/expect_error.h"
#include "tests/common/temp_dir.h"
#include "tests/process/helpers.h"

namespace sluice::process {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using namespace test_support;

constexpr char kInput[] = R"([{"id": 1}, {"id": 2}])";

TEST(ProcessConfinement, TheProcessorsDuckDbHasItsConfigurationLockedToItsPrivateFolder) {
  testing_util::TempDir data;
  const auto scratch = data.path() / "tmp";
  auto c =
      config_with({sql_step("SELECT current_setting('enable_external_access')::VARCHAR AS external, "
                            "current_setting('lock_configuration')::VARCHAR AS locked, "
                            "current_setting('allowed_directories')::VARCHAR AS allowed, "
                            "current_setting('autoload_known_extensions')::VARCHAR AS autoload, "
                            "current_setting('autoinstall_known_extensions')::VARCHAR AS autoinstall, "
                            "current_setting('temp_directory')::VARCHAR AS temp "
                            "FROM input LIMIT 1")});
  const auto out = transform(c, kInput, "in/x.json", scratch);
  const auto rows = lines_of(out.bytes);
  ASSERT_EQ(rows.size(), 1u) << out.bytes;
  EXPECT_EQ(rows[0]["external"], "false");
  EXPECT_EQ(rows[0]["locked"], "true");
  EXPECT_EQ(rows[0]["autoload"], "false");
  EXPECT_EQ(rows[0]["autoinstall"], "false");
  // One directory, a private folder inside the scratch directory (never the scratch directory itself,
  // which other objects' folders share), and DuckDB's temporary files go there too.
  const std::string allowed = rows[0]["allowed"];
  EXPECT_THAT(allowed, StartsWith("[" + scratch.string() + "/"));
  EXPECT_NE(allowed, "[" + scratch.string() + "/]");
  EXPECT_EQ(allowed.find(','), std::string::npos) << allowed;
  const std::string temp = rows[0]["temp"];
  EXPECT_THAT(temp, StartsWith(scratch.string() + "/"));
  EXPECT_THAT(allowed, HasSubstr(temp));
  // The private folder is gone once the object is done.
  EXPECT_TRUE(std::filesystem::is_empty(scratch));
}

TEST(ProcessConfinement, AStepThatReadsAFileOutsideItsFolderIsTheInputsFaultWithAPermissionError) {
  testing_util::TempDir data;
  const auto scratch = data.path() / "tmp";
  const auto object = data.path() / "objects" / "raw" / "secret.json";
  fs::write_file_atomic(object, R"({"secret": 1})");
  fs::write_file_atomic(scratch / "beside.txt", "another object's scratch");
  for (const auto& path : {std::filesystem::path("/etc/passwd"), object, scratch / "beside.txt"}) {
    SCOPED_TRACE(path.string());
    auto c = config_with({sql_step("SELECT i.id, (SELECT content FROM read_text(" +
                                   sql::quote_literal(path.string()) + ")) AS leaked FROM input i")});
    EXPECT_TRUE(testing_util::fails_with<ProcessError>(
        [&] { transform(c, kInput, "in/x.json", scratch); },
        "Permission Error: Cannot access file \"" + path.string() + "\""));
  }
  // Nor may it list the data directory's objects with a glob.
  auto glob = config_with({sql_step(
      "SELECT * FROM read_json(" + sql::quote_literal((data.path() / "objects/raw/*.json").string()) + ")")});
  EXPECT_TRUE(testing_util::fails_with<ProcessError>([&] { transform(glob, kInput, "in/x.json", scratch); },
                                                     "Permission Error"));
}

TEST(ProcessConfinement, CheckingAStepBeforeDataArrivesCannotReadFilesEither) {
  // `sluice validate` and the daemon's start bind every step on a DuckDB of the same confinement.
  auto c = config_with(
      {sql_step("SELECT i.id, (SELECT content FROM read_text('/etc/passwd')) AS leaked FROM input i")});
  const auto problems = check_steps(c, {sql::Column{.name = "id", .type = "BIGINT"}});
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].step_index, 0u);
  EXPECT_THAT(problems[0].message, HasSubstr("Permission Error: Cannot access file \"/etc/passwd\""));
}

}  // namespace
}  // namespace sluice::process
