// config::Reader and config::Node: what a component's section parser reads the file with.
#include "config/reader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace sluice::config {
namespace {

using ::testing::ElementsAre;

const Section& widget_section() {
  static const Section section{{
      {.name = "count", .kind = Kind::kInteger, .required = true, .hint = "how many", .min = 1, .max = 9},
      {.name = "wait", .kind = Kind::kDuration, .min = 1, .max = 60'000},
      {.name = "room", .kind = Kind::kSize, .min = 1024, .max = 1 << 20},
      {.name = "mode", .kind = Kind::kEnum, .values = {"fast", "safe"}},
      {.name = "only", .kind = Kind::kEnum, .hint = "the only mode", .values = {"one"}},
      {.name = "flag", .kind = Kind::kBoolean},
      {.name = "names", .kind = Kind::kNames},
      {.name = "secret_env", .kind = Kind::kString},
  }};
  return section;
}

std::vector<std::string> read_widget(const std::string& yaml) {
  Reader r("w.yaml", yaml);
  const Node root = Node::parse(yaml);
  const Section& keys = widget_section();
  r.check_keys(root, "w", keys);
  r.integer(root, keys["count"], "w");
  r.duration(root, keys["wait"], "w");
  r.size(root, keys["room"], "w");
  r.choice(root, keys["mode"], "w");
  r.choice(root, keys["only"], "w");
  r.boolean(root, keys["flag"], "w");
  r.names(root, keys["names"], "w");
  r.env_name(root, keys["secret_env"], "w");
  std::vector<std::string> out;
  try {
    if (r.has_errors()) r.fail();
  } catch (const ConfigError& e) {
    for (const auto& d : e.diagnostics()) out.push_back(d.to_string());
  }
  return out;
}

TEST(ConfigReader, ValuesAreCheckedAgainstTheirKeySpec) {
  EXPECT_THAT(read_widget("count: 3\nwait: 5s\nroom: 2KiB\nmode: safe\nonly: one\nflag: true\nnames: a\n"),
              ::testing::IsEmpty());
  EXPECT_THAT(
      read_widget("count: 10\nwait: 0s\nroom: 1MiB5\nmode: slow\nonly: two\nflag: maybe\n"
                  "names: [a, [b]]\nsecret_env: 1X\ncont: 1\n"),
      ElementsAre("w.yaml:9:1: w.cont: unknown key \"cont\"; did you mean \"count\"?",
                  "w.yaml:1:8: w.count: expected an integer from 1 to 9, got 10",
                  "w.yaml:2:7: w.wait: expected a duration above 0",
                  "w.yaml:3:7: w.room: expected a size like 1048576, 512KiB or 5MiB, got \"1MiB5\"",
                  "w.yaml:4:7: w.mode: expected one of fast, safe, got \"slow\"",
                  "w.yaml:5:7: w.only: expected \"one\" (the only mode), got \"two\"",
                  "w.yaml:6:7: w.flag: expected true or false, got \"maybe\"",
                  "w.yaml:7:12: w.names[1]: expected a name, got a list",
                  "w.yaml:8:13: w.secret_env: expected an environment variable name (letters, digits, _), "
                  "got \"1X\""));
  EXPECT_THAT(
      read_widget("wait: 2m\nroom: 100\nzzz: 1\n"),
      ElementsAre("w.yaml:3:1: w.zzz: unknown key \"zzz\"; expected one of: count, wait, room, mode, only, "
                  "flag, names, secret_env",
                  "w.yaml:1:1: w.count: missing required key \"count\" (how many)",
                  "w.yaml:1:7: w.wait: duration \"2m\" is longer than the maximum of 60s",
                  "w.yaml:2:7: w.room: expected a size from 1024 to 1048576 bytes, got 100"));
}

TEST(ConfigReader, RecordsTheKeysTheFileWrote) {
  const std::string yaml = "count: 1\nmode: fast\nbogus: 2\n";
  Reader r("w.yaml", yaml);
  r.check_keys(Node::parse(yaml), "w", widget_section());
  EXPECT_EQ(r.written(), (std::set<std::string>{"w.count", "w.mode"}));
}

TEST(ConfigReader, NodesKnowWhereTheyAreAndWhetherTheyAreQuoted) {
  const std::string yaml = "a:\n  b: [1, \"two\"]\n  c: 'x'\n  d:\n";
  const Node root = Node::parse(yaml);
  Reader r("n.yaml", yaml);
  EXPECT_EQ(root["a"]["b"].at(1).mark().line, 2);
  EXPECT_EQ(root["a"]["b"].at(1).mark().column, 10);
  EXPECT_TRUE(r.quoted(root["a"]["b"].at(1)));
  EXPECT_FALSE(r.quoted(root["a"]["b"].at(0)));
  EXPECT_TRUE(r.quoted(root["a"]["c"]));
  EXPECT_EQ(root["a"]["b"].at(0).as_int64(), 1);
  EXPECT_EQ(root["a"]["b"].type_name(), "a list");
  EXPECT_TRUE(root["a"]["d"].is_null());
  EXPECT_FALSE(root["a"]["missing"]);
  EXPECT_FALSE(root["a"]["b"].at(5));
  EXPECT_FALSE(root["a"]["b"]["not a map"]);
  try {
    Node::parse("a: [1,\n");
    FAIL();
  } catch (const YamlSyntaxError& e) {
    EXPECT_GT(e.mark.line, 0);
  }
}

TEST(ConfigReader, StopsAtAPageOfProblems) {
  Reader r("many.yaml", "");
  try {
    for (int i = 0; i < 1000; ++i) r.error_at(i + 1, 1, "p", "bad");
    FAIL();
  } catch (const ConfigError& e) {
    ASSERT_EQ(e.diagnostics().size(), Reader::kMaxDiagnostics + 1);
    EXPECT_EQ(e.diagnostics().back().message, "too many problems; stopped after 100");
  }
}

TEST(ConfigReader, SizesAndNames) {
  EXPECT_EQ(parse_size("1048576"), 1048576u);
  EXPECT_EQ(parse_size("512KiB"), 512u << 10);
  EXPECT_EQ(parse_size("5MB"), 5u << 20);
  EXPECT_EQ(parse_size("1GiB"), 1u << 30);
  EXPECT_EQ(parse_size("1TiB"), std::nullopt);
  EXPECT_EQ(parse_size("MiB"), std::nullopt);
  EXPECT_EQ(parse_size("1234567890123456"), std::nullopt);  // 16 digits
  EXPECT_TRUE(valid_entry_name("random-users.v2_x"));
  EXPECT_FALSE(valid_entry_name("bad name"));
  EXPECT_FALSE(valid_entry_name(std::string(kMaxEntryNameBytes + 1, 'a')));
  EXPECT_TRUE(valid_env_name("_TOKEN2"));
  EXPECT_FALSE(valid_env_name("2TOKEN"));
}

}  // namespace
}  // namespace sluice::config
