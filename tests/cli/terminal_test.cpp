// Output meant for people: display width of UTF-8 text, tables that line up with non-ASCII values,
// logs that never cut through printed records, and a progress line on a terminal only.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

#include <regex>
#include <sstream>

#include "common/display_width.h"
#include "tests/cli/cli_fixture.h"

namespace sluice {
namespace {

using namespace std::chrono_literals;
using namespace cli_testing;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(DisplayWidth, AsciiAccentsCjkEmojiAndCombiningMarks) {
  EXPECT_EQ(display_width(""), 0u);
  EXPECT_EQ(display_width("Leanne Graham"), 13u);
  EXPECT_EQ(display_width("L\xC3\xA9"
                          "a"),
            3u);  // Léa, precomposed é (2 bytes, 1 column)
  EXPECT_EQ(display_width("Garc\xC3\xAD"
                          "a"),
            6u);  // García
  EXPECT_EQ(display_width("Le\xCC\x81"
                          "a"),
            3u);                                             // e + U+0301 COMBINING ACUTE: 0 columns
  EXPECT_EQ(display_width("\xE6\x97\xA5\xE6\x9C\xAC"), 4u);  // 日本: 2 columns each
  EXPECT_EQ(display_width("\xED\x95\x9C"), 2u);              // 한 (Hangul syllable)
  EXPECT_EQ(display_width("\xF0\x9F\x98\x80"), 2u);          // 😀
  EXPECT_EQ(display_width("\xEF\xBC\xA1"), 2u);              // Ａ fullwidth
  EXPECT_EQ(display_width("a\xE2\x80\x8B"
                          "b"),
            2u);  // zero width space between
}

TEST(DisplayWidth, InvalidBytesCountOneEachAndAreShownAsReplacement) {
  const std::string replacement = "\xEF\xBF\xBD";
  EXPECT_EQ(display_width("\xFF\xFE"), 2u);
  EXPECT_EQ(display_width("a\xC3"), 2u);             // truncated sequence at the end
  EXPECT_EQ(display_width("\xC0\xAF"), 2u);          // overlong '/'
  EXPECT_EQ(display_width("\xED\xA0\x80"), 3u);      // a UTF-16 surrogate
  EXPECT_EQ(display_width("\xF4\x90\x80\x80"), 4u);  // beyond U+10FFFF
  EXPECT_EQ(printable_utf8("a\xFF"
                           "b"),
            "a" + replacement + "b");
  EXPECT_EQ(printable_utf8("\xE6\x97"), replacement + replacement);
  // Control characters cannot drive the terminal: ESC is replaced, tab and newline become spaces.
  EXPECT_EQ(printable_utf8("x\x1B[2Jy"), "x" + replacement + "[2Jy");
  EXPECT_EQ(printable_utf8("a\tb\nc"), "a b c");
  EXPECT_EQ(printable_utf8("L\xC3\xA9"
                           "a"),
            "L\xC3\xA9"
            "a");
}

TEST(DisplayWidth, TruncateAndPadByColumns) {
  EXPECT_EQ(truncate_to_width("\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E", 5), "\xE6\x97\xA5\xE6\x9C\xAC");
  EXPECT_EQ(truncate_to_width("Le\xCC\x81"
                              "a",
                              2),
            "Le\xCC\x81");  // the combining mark stays with its base
  EXPECT_EQ(truncate_to_width("abc", 10), "abc");
  EXPECT_EQ(pad_to_width("L\xC3\xA9"
                         "a",
                         6),
            "L\xC3\xA9"
            "a   ");
  EXPECT_EQ(pad_to_width("\xE6\x97\xA5", 3), "\xE6\x97\xA5 ");
  EXPECT_EQ(pad_left_to_width("42", 5), "   42");
  EXPECT_EQ(pad_to_width("toolong", 3), "toolong");
}

class Terminal : public Cli {
 protected:
  // Every stored run, so that `sluice query` finds a data directory.
  void with_data() {
    auto r = sluice({"trigger", "every-minute", "-p", pipeline_.string()});
    ASSERT_EQ(r.code, 0) << r.err;
  }
};

TEST_F(Terminal, QueryTableColumnsLineUpByDisplayWidth) {
  with_data();
  auto r = sluice({"query", "-p", pipeline_.string(),
                   "SELECT * FROM (VALUES ('L\xC3\xA9"
                   "a', 'x'), ('Garc\xC3\xAD"
                   "a', 'y'), "
                   "('\xE6\x97\xA5\xE6\x9C\xAC', 'z'), ('\xF0\x9F\x98\x80', 'w')) t(name, v)"});
  ASSERT_EQ(r.code, 0) << r.err;
  // The first column is 6 columns wide (García) plus 2 of gap: v starts at column 8 on every line,
  // so Léa (3 columns) takes 5 spaces, 日本 (4 columns) 4, 😀 (2 columns) 6.
  EXPECT_THAT(r.out, HasSubstr("name    v\n"));
  EXPECT_THAT(r.out, HasSubstr("L\xC3\xA9"
                               "a     x\n"));
  EXPECT_THAT(r.out, HasSubstr("Garc\xC3\xAD"
                               "a  y\n"));
  EXPECT_THAT(r.out, HasSubstr("\xE6\x97\xA5\xE6\x9C\xAC    z\n"));
  EXPECT_THAT(r.out, HasSubstr("\xF0\x9F\x98\x80      w\n"));
}

// The demo with every log level on and stdout and stderr into one pipe, as `sluice demo 2>&1 | less`:
// no log line anywhere in what is printed (the log goes to the demo's log file).
TEST_F(Terminal, DemoPrintsNoLogLineInsideItsOutput) {
  const auto keep = dir_.path() / "demo";
  auto r =
      testing_util::run({"/bin/sh", "-c", "exec \"$0\" demo --data-dir \"$1\" 2>&1", kSluice, keep.string()},
                        dir_.path(), {"SLUICE_LOG=debug"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  const std::regex log_line("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+ (trace|debug|info|warning|error) ");
  EXPECT_FALSE(std::regex_search(r.out, log_line)) << r.out;
  // Every record printed whole: the raw users' lines end their JSON objects.
  std::istringstream lines(r.out);
  int records = 0;
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("  {\"id\":", 0) != 0) continue;
    ++records;
    EXPECT_EQ(line.back(), '}') << line;
  }
  EXPECT_GE(records, 4);
  // The background work's log is in the file the demo names.
  EXPECT_THAT(r.out, HasSubstr("log: " + (keep / "demo.log").string()));
  const std::string log = fs::read_file(keep / "demo.log");
  EXPECT_THAT(log, HasSubstr("info run 8 source random-users"));
}

// stdout and stderr into one file: each log line lands between two printed lines.
TEST_F(Terminal, TriggerLogLinesLandBetweenPrintedLines) {
  auto r = testing_util::run(
      {"/bin/sh", "-c", "exec \"$0\" trigger every-minute -p \"$1\" 2>&1", kSluice, pipeline_.string()},
      dir_.path(), {"SLUICE_LOG=debug"});
  ASSERT_EQ(r.code, 0) << r.out;
  const std::regex log_line("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+ (trace|debug|info|warning|error) .*");
  std::istringstream lines(r.out);
  int printed = 0;
  for (std::string line; std::getline(lines, line);) {
    if (std::regex_match(line, log_line)) continue;
    ++printed;
    EXPECT_THAT(line, ::testing::MatchesRegex("run [0-9]+ [a-z-]+: succeeded, [0-9]+ records, .*")) << r.out;
  }
  EXPECT_EQ(printed, 2) << r.out;
}

TEST_F(Terminal, NoProgressWhenNotATerminal) {
  api_.script("/users", {fixture::Fault{.delay = 1s}});
  auto r = sluice({"trigger", "every-minute", "-p", pipeline_.string()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.err, Not(HasSubstr("running")));
  EXPECT_THAT(r.err, Not(HasSubstr("\x1B[K")));
  EXPECT_THAT(r.out, HasSubstr("users: succeeded, 10 records"));
}

// Runs `argv` with stderr on a pseudo-terminal and stdout into `out_file`; returns what the
// terminal showed.
std::string run_on_pty(const std::vector<std::string>& argv, const std::filesystem::path& out_file) {
  int master = -1;
  const pid_t pid = ::forkpty(&master, nullptr, nullptr, nullptr);
  if (pid == 0) {
    const int out = ::open(out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(out, 1);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  std::string shown;
  char buffer[4096];
  for (ssize_t n; (n = ::read(master, buffer, sizeof buffer)) > 0;)
    shown.append(buffer, n);  // EIO at the end
  int status = 0;
  ::waitpid(pid, &status, 0);
  ::close(master);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << shown;
  return shown;
}

TEST_F(Terminal, ProgressOnATerminal) {
  api_.script("/users", {fixture::Fault{.delay = 1s}});
  const auto out = dir_.path() / "trigger.out";
  const std::string shown = run_on_pty({kSluice, "trigger", "every-minute", "-p", pipeline_.string()}, out);
  EXPECT_THAT(shown, HasSubstr("trigger every-minute: running ("));
  EXPECT_THAT(shown, HasSubstr("\r\x1B[K"));  // redrawn in place, and removed at the end
  // stdout is not the terminal: it holds only the runs, as it would without a terminal.
  const std::string printed = fs::read_file(out);
  EXPECT_THAT(printed, HasSubstr("users: succeeded, 10 records"));
  EXPECT_THAT(printed, Not(HasSubstr("running")));
}

}  // namespace
}  // namespace sluice
