// The one-pass JSON checker of the extract: it agrees with an independent parser (nlohmann) on what
// is valid, points at the first error, and hands out records and a string value from a file read in
// chunks — records, escapes and multi-byte characters that straddle chunk boundaries included.
#include "extract/json_scan.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/common/temp_dir.h"

namespace sluice::extract {
namespace {

using ::testing::HasSubstr;

bool valid(std::string_view text) { return !scan_json(text).error.has_value(); }

TEST(JsonScan, AgreesWithAnIndependentParserOnWhatIsValid) {
  const std::vector<std::string> samples = {"0",
                                            "-0",
                                            "1.5",
                                            "-1.5e+3",
                                            "1E-2",
                                            "123456789012345678901234567890",
                                            "01",
                                            "1.",
                                            "1e",
                                            "-",
                                            ".5",
                                            "+1",
                                            "0x10",
                                            "true",
                                            "false",
                                            "null",
                                            "tru",
                                            "nul",
                                            "True",
                                            "\"\"",
                                            "\"a\\\"b\"",
                                            "\"\\x\"",
                                            "\"\\u12\"",
                                            "\"\\u00e9\"",
                                            "\"\\uD83D\\uDE00\"",
                                            "\"\\uD83D\"",
                                            "\"\\uDE00\"",
                                            "\"\\uD83Dx\"",
                                            std::string("\"a\x01b\""),
                                            "\"tab\there\"",
                                            "\"\xc3\xa9\"",
                                            "\"\xe2\x82\xac\"",
                                            "\"\xf0\x9f\x98\x80\"",
                                            "\"\xc0\xaf\"",
                                            "\"\xed\xa0\x80\"",
                                            "\"\xf4\x90\x80\x80\"",
                                            "\"\xe2\x82\"",
                                            "\"\xff\"",
                                            "\"\x80\"",
                                            "[]",
                                            "{}",
                                            " [ 1 , 2 ] ",
                                            "[1,]",
                                            "[,1]",
                                            "[1 2]",
                                            "[",
                                            "]",
                                            "{\"a\":1}",
                                            "{\"a\":1,}",
                                            "{\"a\" 1}",
                                            "{1:2}",
                                            "{\"a\":}",
                                            "{\"a\":1 \"b\":2}",
                                            "[1] x",
                                            "[1]]",
                                            "",
                                            "   ",
                                            "\xc3\xa9",
                                            "{\"a\":[{\"b\":null}]}",
                                            "[\"unterminated]",
                                            "{\"a\":{\"b\":[1,{\"c\":\"d\"}]}}",
                                            "\t\n\r[\n]\r\n"};
  for (const auto& sample : samples) {
    EXPECT_EQ(valid(sample), nlohmann::json::accept(sample)) << "sample: " << sample;
  }
}

TEST(JsonScan, PointsAtTheFirstErrorAndSaysWhat) {
  auto error_of = [](std::string_view text) {
    return scan_json(text).error.value_or(JsonScanResult::Error{});
  };
  EXPECT_EQ(error_of("[{\"id\": 1}, {\"id\": tru}]").offset, 19u);
  EXPECT_THAT(error_of("[{\"id\": 1}, {\"id\": tru}]").reason, HasSubstr("invalid literal"));
  EXPECT_EQ(error_of("[1, 2,]").offset, 6u);
  EXPECT_THAT(error_of("[1, 2,]").reason, HasSubstr("expected a JSON value"));
  EXPECT_EQ(error_of("{\"a\" 1}").offset, 5u);
  EXPECT_THAT(error_of("{\"a\" 1}").reason, HasSubstr("expected ':'"));
  EXPECT_EQ(error_of("\"abc").offset, 4u);
  EXPECT_THAT(error_of("\"abc").reason, HasSubstr("unterminated string (it starts at byte 0)"));
  EXPECT_EQ(error_of("[\"a\xff\"]").offset, 3u);
  EXPECT_THAT(error_of("[\"a\xff\"]").reason, HasSubstr("invalid UTF-8"));
  EXPECT_EQ(error_of("[1] x").offset, 4u);
  EXPECT_THAT(error_of("").reason, HasSubstr("found the end of the response"));
  EXPECT_THAT(error_of(std::string(5000, '[') + std::string(5000, ']')).reason, HasSubstr("nested deeper"));
  EXPECT_TRUE(valid(std::string(100, '[') + std::string(100, ']')));
  // The grammar has no range: numbers beyond a double are valid JSON, kept as written.
  EXPECT_TRUE(valid("[1e400, -123456789012345678901234567890]"));
}

TEST(JsonScan, RecordsPathStringPathAndRootArray) {
  JsonScanOptions options;
  options.records_path = "data.items";
  options.string_path = "info.next";
  std::vector<std::string> records;
  options.on_record = [&](std::string_view r) { records.emplace_back(r); };
  auto scan = scan_json(
      "{\"info\": {\"next\": \"http://h/?p=\\u00e92\"}, \"data\": {\"items\": [ {\"a\" : [1, 2] }, \"x y\", "
      "3 ],"
      " \"items\": [\"second\"]}}",
      options);
  ASSERT_FALSE(scan.error) << scan.error->reason;
  EXPECT_EQ(scan.records, JsonScanResult::Records::kArray);
  EXPECT_EQ(scan.record_count, 3u);
  EXPECT_EQ(records, (std::vector<std::string>{"{\"a\":[1,2]}", "\"x y\"", "3"}));  // the first "items"
  EXPECT_EQ(scan.string_value,
            "http://h/?p=\xc3\xa9"
            "2");
  EXPECT_FALSE(scan.root_is_array);

  records.clear();
  scan = scan_json("{\"data\": {\"items\": {\"not\": \"an array\"}}, \"info\": {\"next\": 5}}", options);
  EXPECT_EQ(scan.records, JsonScanResult::Records::kNotArray);
  EXPECT_FALSE(scan.string_value);
  EXPECT_TRUE(records.empty());
  scan = scan_json("{\"data\": [{\"items\": []}]}", options);  // a step that is not an object
  EXPECT_EQ(scan.records, JsonScanResult::Records::kMissing);

  options.records_path = "";  // the root
  scan = scan_json(" [ {\"id\": 1}, {\"id\": 2} ] ", options);
  EXPECT_TRUE(scan.root_is_array);
  EXPECT_EQ(scan.root_elements, 2u);
  EXPECT_EQ(records, (std::vector<std::string>{"{\"id\":1}", "{\"id\":2}"}));
}

// One record of the test document, with spaces and newlines where JSON allows them, and the same
// record as the scanner should hand it out (no whitespace outside strings).
struct TestRecord {
  std::string spaced, compact;
};

TestRecord make_record(int i, const std::string& text) {
  const std::string id = std::to_string(i);
  return {
      "{\n    \"id\" : " + id + ",\n    \"text\" : \"" + text + "\" ,\n    \"tags\" : [ true , null ]\n  }",
      "{\"id\":" + id + ",\"text\":\"" + text + "\",\"tags\":[true,null]}"};
}

TEST(JsonScan, FileInChunksRecordsAndCharactersAcrossChunkBoundaries) {
  std::vector<TestRecord> records;
  for (int i = 0; i < 20000; ++i)
    records.push_back(make_record(i, "r\\u00e9cord \xe2\x82\xac " + std::to_string(i)));
  // Larger than a chunk: multi-byte characters, escapes and the record itself straddle boundaries.
  std::string euros, escapes, mixed;
  for (int i = 0; i < 400000; ++i) euros += "\xe2\x82\xac";
  for (int i = 0; i < 600000; ++i) escapes += "\\n";
  for (int i = 0; i < 300000; ++i)
    mixed += (i % 3 == 0 ? "\xf0\x9f\x98\x80" : i % 3 == 1 ? "\\uD83D\\uDE00" : "\xc3\xa9");
  records.insert(records.begin() + 5000, make_record(-1, euros));
  records.insert(records.begin() + 10000, make_record(-2, escapes));
  records.insert(records.begin() + 15000, make_record(-3, mixed));
  std::string document = "{\n  \"results\" : [\n  ";
  for (size_t i = 0; i < records.size(); ++i) document += (i ? ",\n  " : "") + records[i].spaced;
  document += "\n  ],\n  \"info\" : { \"next\" : \"http://h/p\\u00e9ge?n=2\" }\n}\n";
  ASSERT_GT(document.size(), 5u << 20);

  testing_util::TempDir dir;
  const auto path = dir.path() / "body.json";
  std::ofstream(path, std::ios::binary) << document;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  JsonScanOptions options;
  options.records_path = "results";
  options.string_path = "info.next";
  std::vector<std::string> seen;
  std::string chunks;
  options.on_record = [&](std::string_view r) { seen.emplace_back(r); };
  options.on_chunk = [&](std::string_view c) { chunks.append(c); };
  const auto scan = scan_json_file(fd, options);
  ::close(fd);
  ASSERT_FALSE(scan.error) << scan.error->reason << " at " << scan.error->offset;
  EXPECT_EQ(chunks, document);
  ASSERT_EQ(seen.size(), records.size());
  EXPECT_EQ(scan.record_count, records.size());
  for (size_t i = 0; i < records.size(); ++i) ASSERT_EQ(seen[i], records[i].compact) << "record " << i;
  EXPECT_EQ(scan.string_value, "http://h/p\xc3\xa9ge?n=2");
  EXPECT_EQ(nlohmann::json::parse(seen[5000])["text"].get<std::string>().size(), euros.size());

  // The same document with one bad byte deep inside: found at its offset, in the right chunk.
  const size_t bad = document.find("\"id\" : 17777");
  ASSERT_NE(bad, std::string::npos);
  document[bad + 7] = 'x';
  std::ofstream(path, std::ios::binary | std::ios::trunc) << document;
  const int fd2 = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd2, 0);
  const auto broken = scan_json_file(fd2, {});
  ::close(fd2);
  ASSERT_TRUE(broken.error);
  EXPECT_EQ(broken.error->offset, bad + 7);
}

}  // namespace
}  // namespace sluice::extract
