#include "common/fs.h"

#include <gtest/gtest.h>

#include "common/error.h"
#include "tests/common/temp_dir.h"

namespace sluice {
namespace {

TEST(WriteFileAtomic, CreatesParentsAndReplacesWhole) {
  testing_util::TempDir dir;
  auto path = dir.path() / "a" / "b" / "file.txt";
  fs::write_file_atomic(path, "first");
  EXPECT_EQ(fs::read_file(path), "first");
  fs::write_file_atomic(path, "second, longer");
  EXPECT_EQ(fs::read_file(path), "second, longer");
  // No temporary file is left beside it.
  int entries = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator(path.parent_path())) ++entries;
  EXPECT_EQ(entries, 1);
}

TEST(WriteFileAtomic, FailsWithPathInMessage) {
  testing_util::TempDir dir;
  auto blocker = dir.path() / "blocker";
  fs::write_file_atomic(blocker, "x");
  try {
    fs::write_file_atomic(blocker / "child", "y");  // parent is a file
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("blocker"), std::string::npos) << e.what();
  }
}

TEST(ReadFile, MissingFileNamesIt) {
  testing_util::TempDir dir;
  try {
    fs::read_file(dir.path() / "nope.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("nope.json"), std::string::npos);
  }
}

}  // namespace
}  // namespace sluice
