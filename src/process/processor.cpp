#include "process/processor.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <new>

#include "common/compress.h"
#include "common/fs.h"
#include "process/compile.h"
#include "process/json_reader.h"
#include "process/jsonl_writer.h"
#include "schedule/schedule.h"
#include "sql/appender.h"

namespace sluice::process {
namespace {

using sql::quote_identifier;
using sql::quote_literal;

// What the steps' first CTE reads: the JSON records' table function, or (check_steps) an empty
// table of the given shape.
constexpr const char* kInputTable = "sluice_input";

std::string file_name(std::string_view key) {
  const auto slash = key.rfind('/');
  return std::string(slash == std::string_view::npos ? key : key.substr(slash + 1));
}

[[noreturn]] void throw_scratch_error(const std::string& what, int error) {
  // Scratch space is the system's own: whatever fails there is never the input's fault.
  throw SystemError(what + ": " + std::strerror(error));
}

// A private scratch folder, removed with its contents.
class Scratch {
 public:
  explicit Scratch(const std::filesystem::path& parent) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) throw_scratch_error("cannot create the scratch folder " + parent.string(), ec.value());
    std::string tmpl = (parent / "process-XXXXXX").string();
    if (!::mkdtemp(tmpl.data()))
      throw_scratch_error("cannot create a scratch folder under " + parent.string(), errno);
    path_ = tmpl;
  }
  ~Scratch() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  const std::filesystem::path& path() const { return path_; }

  // Writes `data` to a new file `name` in the folder (no fsync: a crash re-processes from the event).
  std::filesystem::path write(const std::string& name, std::string_view data) const {
    const auto file = path_ / name;
    const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) throw_scratch_error("cannot create " + file.string(), errno);
    while (!data.empty()) {
      const ssize_t n = ::write(fd, data.data(), data.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        const int error = errno;
        ::close(fd);
        throw_scratch_error("cannot write " + file.string(), error);
      }
      data.remove_prefix(static_cast<size_t>(n));
    }
    if (::close(fd) != 0) throw_scratch_error("cannot write " + file.string(), errno);
    return file;
  }

 private:
  std::filesystem::path path_;
};

// The input as it will be read: gunzipped, its format resolved.
struct Source {
  std::string gunzipped;
  std::string_view bytes;
  InputFormat format = InputFormat::kJsonLines;  // never kAuto
};

Source resolve_source(std::string_view input, std::string_view key, InputFormat format) {
  Source source;
  source.bytes = input;
  const bool gzip = compress::is_gzip(input);
  if (gzip) {
    source.gunzipped = compress::gunzip(input);
    source.bytes = source.gunzipped;
  }
  if (format == InputFormat::kAuto) {
    std::string_view name = key;
    if (gzip && name.ends_with(".gz")) name.remove_suffix(3);
    if (name.ends_with(".csv")) {
      format = InputFormat::kCsv;
    } else {
      const auto first = source.bytes.find_first_not_of(" \t\r\n");
      format = first != std::string_view::npos && source.bytes[first] == '[' ? InputFormat::kJsonArray
                                                                             : InputFormat::kJsonLines;
    }
  }
  source.format = format;
  return source;
}

std::optional<std::string> reader_flatten(const ProcessorConfig& config) {
  if (config.steps.empty() || config.steps[0].kind != Step::Kind::kFlatten) return std::nullopt;
  return config.steps[0].separator;
}

// The first step whose query does not bind over `source`, each step bound with those before it.
std::optional<StepProblem> first_problem(sql::Session& session, const std::string& source,
                                         const std::vector<Step>& steps, size_t first) {
  QueryBuilder builder(session, source);
  for (size_t i = first; i < steps.size(); ++i) {
    try {
      builder.add(steps[i], i);
    } catch (const SystemError&) {
      throw;
    } catch (const Error& e) {
      return StepProblem{i, e.what()};  // a flatten that would lose values; it names the step
    }
    const std::string why = session.bind_error(builder.query());
    if (!why.empty()) return StepProblem{i, step_label(steps[i], i) + ": " + why};
  }
  return std::nullopt;
}

std::string create_table_sql(const std::vector<sql::Column>& columns) {
  std::string create = "CREATE TABLE " + std::string(kInputTable) + " (";
  for (size_t i = 0; i < columns.size(); ++i)
    create += (i ? ", " : "") + quote_identifier(columns[i].name) + " " + columns[i].type;
  return create + ")";
}

}  // namespace

bool matches(const ProcessorConfig& config, std::string_view bucket, std::string_view key) {
  return bucket == config.bucket && key.substr(0, config.prefix.size()) == config.prefix &&
         key.size() >= config.suffix.size() && key.substr(key.size() - config.suffix.size()) == config.suffix;
}

std::string output_key(const ProcessorConfig& config, std::string_view input_key, TimePoint event_time) {
  const std::string name = file_name(input_key);
  const std::string basename = name.substr(0, name.find('.'));
  std::string out;
  const std::string& templ = config.output_key;
  for (size_t i = 0; i < templ.size(); ++i) {
    if (templ[i] != '{') {
      out.push_back(templ[i]);
      continue;
    }
    const auto close = templ.find('}', i);
    if (close == std::string::npos) throw Error("unclosed '{' in output key \"" + templ + "\"");
    const std::string field = templ.substr(i + 1, close - i - 1);
    if (field == "name")
      out += name;
    else if (field == "basename")
      out += basename;
    else if (field == "date")
      out += schedule::format_in_zone(event_time, "UTC", "%Y-%m-%d");
    else
      throw Error("unknown field {" + field + "} in output key \"" + templ +
                  "\"; expected {name}, {basename} or {date}");
    i = close;
  }
  return out;
}

std::string validate_output_key(const std::string& templ) {
  ProcessorConfig probe;
  probe.output_key = templ;
  try {
    output_key(probe, "raw/x/file.json", TimePoint{});
  } catch (const Error& e) {
    return e.what();
  }
  return templ.empty() ? "the output key is empty" : "";
}

namespace {

// Runs `query` and writes its result in the output format. JSON Lines come from the result's chunks
// when the writer renders every column type, else from DuckDB's COPY like the other formats.
void write_output(sql::Session& session, const ProcessorConfig& config, const Scratch& scratch,
                  size_t input_bytes, TransformOutput& out) {
  if (config.output_format == OutputFormat::kJsonLines) {
    sql::ResultStream stream(session, out.sql);
    if (JsonLinesWriter::supports(stream)) {
      // JSON Lines out are about as large as JSON in (a flatten repeats key prefixes).
      JsonLinesWriter writer(stream, input_bytes + input_bytes / 8);
      while (auto chunk = stream.next()) writer.write(chunk.get());
      out.records = writer.rows();
      out.bytes = writer.take();
      return;
    }
  }
  const auto out_path = scratch.path() / "output";
  const char* format = config.output_format == OutputFormat::kParquet ? "FORMAT parquet"
                       : config.output_format == OutputFormat::kCsv   ? "FORMAT csv, HEADER true"
                                                                      : "FORMAT json";
  out.records = session.execute("COPY (" + out.sql + "\n) TO " + quote_literal(out_path.string()) + " (" +
                                format + ")");
  try {
    out.bytes = fs::read_file(out_path);
  } catch (const SystemError&) {
    throw;
  } catch (const Error& e) {
    throw SystemError(e.what());  // our own scratch file: never the input's fault
  }
}

// The FROM item the steps start from: the JSON records as a table function (read first, into
// `json`), or DuckDB's read_csv over a scratch copy. nullopt when the input has no columns at all (no
// records, or records without keys); `records` is then their number.
std::optional<std::string> load_input(sql::Session& session, const ProcessorConfig& config,
                                      const Source& source, const Scratch& scratch,
                                      std::optional<JsonRecords>& json, size_t* records) {
  if (source.format == InputFormat::kCsv) {
    const auto path = scratch.write("input.csv", source.bytes);
    return "read_csv(" + quote_literal(path.string()) + ", header = true)";
  }
  const JsonReadOptions options{.json_lines = source.format == InputFormat::kJsonLines,
                                .flatten_separator = reader_flatten(config)};
  json = JsonRecords::read(source.bytes, options);
  *records = json->record_count();
  if (json->columns().empty()) return std::nullopt;
  json->register_table_function(session, kInputTable);
  return std::string(kInputTable) + "()";
}

// The processing itself; errors are Error (the input's) or SystemError, without the object's name.
TransformOutput run(const ProcessorConfig& config, std::string_view input, std::string_view input_key,
                    const std::filesystem::path& scratch_dir) {
  const Source source = resolve_source(input, input_key, config.input_format);
  Scratch scratch(scratch_dir);
  std::optional<JsonRecords> json;  // outlives the session, whose queries read it
  sql::Session session(
      {.temp_directory = scratch.path().string(), .allowed_directories = {scratch.path().string()}});
  size_t records = 0;
  const auto from = load_input(session, config, source, scratch, json, &records);
  TransformOutput out;
  if (!from) {
    // Nothing to make columns of: no records gives no output rows; keys are needed for anything else.
    if (records > 0) throw Error("the records have no keys: there are no columns to process");
    if (config.output_format == OutputFormat::kParquet)
      throw Error("no records: a Parquet file needs columns");
    return out;
  }
  // A first flatten happened while reading (JSON): the steps start after it.
  const size_t first = source.format != InputFormat::kCsv && reader_flatten(config) ? 1 : 0;
  QueryBuilder builder(session, *from);
  for (size_t i = first; i < config.steps.size(); ++i) builder.add(config.steps[i], i);
  out.sql = builder.query();
  try {
    out.columns = session.describe(out.sql);
  } catch (const SystemError&) {
    throw;
  } catch (const Error&) {
    // Say which step: bind them one by one.
    if (auto problem = first_problem(session, *from, config.steps, first)) throw Error(problem->message);
    throw;
  }
  try {
    write_output(session, config, scratch, source.bytes.size(), out);
  } catch (const SystemError&) {
    throw;
  } catch (const Error& e) {
    if (json && json->failed_for_system()) throw SystemError(e.what());
    throw;
  }
  return out;
}

// Where checks of user SQL get the private, empty folder their DuckDB is confined to (they touch no
// file; confinement keeps a step's SQL from reading any while it is bound).
std::filesystem::path check_dir_parent() { return std::filesystem::temp_directory_path(); }

}  // namespace

TransformOutput transform(const ProcessorConfig& config, std::string_view input, std::string_view input_key,
                          const std::filesystem::path& scratch_dir) {
  const std::string where =
      "process " + config.name + ": s3://" + config.bucket + "/" + std::string(input_key);
  try {
    return run(config, input, input_key, scratch_dir);
  } catch (const SystemError& e) {
    throw SystemError(where + ": " + e.what());
  } catch (const Error& e) {
    throw ProcessError(where + ": " + e.what());
  } catch (const std::bad_alloc&) {
    throw SystemError(where + ": out of memory");
  }
}

std::vector<StepProblem> check_steps(const ProcessorConfig& config, const std::vector<sql::Column>& input) {
  if (config.steps.empty()) return {};
  if (input.empty()) return {StepProblem{0, step_label(config.steps[0], 0) + ": the input has no columns"}};
  Scratch scratch(check_dir_parent());
  sql::Session session({.allowed_directories = {scratch.path().string()}});
  session.execute(create_table_sql(input));
  auto problem = first_problem(session, quote_identifier(kInputTable), config.steps, 0);
  if (!problem) return {};
  return {*problem};
}

std::vector<StepProblem> parse_only_problems(const ProcessorConfig& config) {
  Scratch scratch(check_dir_parent());
  sql::Session session({.allowed_directories = {scratch.path().string()}});
  std::vector<StepProblem> problems;
  for (size_t i = 0; i < config.steps.size(); ++i) {
    const Step& step = config.steps[i];
    const std::string text = standalone_sql(step);
    if (text.empty()) continue;
    // A cast's type names are checked by binding (no table is involved); the rest by parsing only.
    const std::string why =
        step.kind == Step::Kind::kCast ? session.bind_error(text) : session.parse_error(text);
    if (!why.empty()) problems.push_back({i, step_label(step, i) + ": " + why});
  }
  return problems;
}

std::vector<sql::Column> infer_input_shape(std::string_view bytes, std::string_view key, InputFormat format,
                                           size_t max_records,
                                           const std::optional<std::string>& flatten_separator) {
  try {
    const Source source = resolve_source(bytes, key, format);
    if (source.format != InputFormat::kCsv) {
      const JsonReadOptions options{.json_lines = source.format == InputFormat::kJsonLines,
                                    .flatten_separator = flatten_separator,
                                    .max_records = max_records};
      return JsonRecords::read(source.bytes, options).columns();
    }
    // The header and the first max_records lines, read by DuckDB as transform reads the whole.
    size_t end = 0;
    for (size_t line = 0; line <= max_records && end < source.bytes.size(); ++line) {
      const auto newline = source.bytes.find('\n', end);
      end = newline == std::string_view::npos ? source.bytes.size() : newline + 1;
    }
    Scratch scratch(check_dir_parent());
    const auto path = scratch.write("sample.csv", source.bytes.substr(0, end));
    sql::Session session({.allowed_directories = {scratch.path().string()}});
    return session.describe("SELECT * FROM read_csv(" + quote_literal(path.string()) + ", header = true)");
  } catch (const SystemError&) {
    throw;
  } catch (const Error& e) {
    throw ProcessError("sample " + std::string(key) + ": " + e.what());
  } catch (const std::bad_alloc&) {
    throw SystemError("sample " + std::string(key) + ": out of memory");
  }
}

std::vector<sql::Column> infer_input_shape(const ProcessorConfig& config, std::string_view bytes,
                                           std::string_view key, size_t max_records) {
  return infer_input_shape(bytes, key, config.input_format, max_records, reader_flatten(config));
}

}  // namespace sluice::process
