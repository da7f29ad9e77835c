#include "process/processor.h"

#include <unistd.h>

#include <fstream>
#include <map>

#include "common/fs.h"
#include "schedule/schedule.h"

namespace sluice::process {
namespace {

using sql::quote_identifier;
using sql::quote_literal;

std::string file_name(std::string_view key) {
  const auto slash = key.rfind('/');
  return std::string(slash == std::string_view::npos ? key : key.substr(slash + 1));
}

// A private scratch folder, removed with its contents.
class Scratch {
 public:
  explicit Scratch(const std::filesystem::path& parent) {
    std::filesystem::create_directories(parent);
    std::string tmpl = (parent / "process-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw Error("cannot create a scratch directory under " + parent.string());
    path_ = tmpl;
  }
  ~Scratch() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Flattens struct columns into prefixed top-level columns, recursively, in declaration order.
void flatten_into(const sql::Column& column, const std::string& expr, const std::string& name,
                  const std::string& path, const std::string& separator, std::vector<std::string>& select,
                  std::map<std::string, std::string>& seen) {
  if (column.is_struct && !column.fields.empty()) {
    for (const auto& field : column.fields) {
      flatten_into(field, "struct_extract(" + expr + ", " + quote_literal(field.name) + ")",
                   name + separator + field.name, path + "." + field.name, separator, select, seen);
    }
    return;
  }
  auto [it, inserted] = seen.emplace(name, path);
  if (!inserted) {
    throw Error("flatten: \"" + it->second + "\" and \"" + path + "\" both become column \"" + name + "\"");
  }
  select.push_back(expr + " AS " + quote_identifier(name));
}

std::string read_source(InputFormat format, std::string_view input, std::string_view key,
                        const std::string& path) {
  const bool gzip = input.size() >= 2 && static_cast<unsigned char>(input[0]) == 0x1f &&
                    static_cast<unsigned char>(input[1]) == 0x8b;
  const std::string compression = gzip ? ", compression = 'gzip'" : "";
  if (format == InputFormat::kAuto) {
    std::string_view name = key;
    if (name.size() > 3 && name.substr(name.size() - 3) == ".gz") name.remove_suffix(3);
    if (name.size() > 4 && name.substr(name.size() - 4) == ".csv") {
      format = InputFormat::kCsv;
    } else if (!gzip) {
      const auto first = input.find_first_not_of(" \t\r\n");
      format = first != std::string_view::npos && input[first] == '[' ? InputFormat::kJsonArray
                                                                      : InputFormat::kJsonLines;
    }
  }
  switch (format) {
    case InputFormat::kCsv:
      return "read_csv(" + quote_literal(path) + ", header = true" + compression + ")";
    case InputFormat::kJsonArray:
      return "read_json(" + quote_literal(path) + ", format = 'array', sample_size = -1" + compression + ")";
    case InputFormat::kJsonLines:
      return "read_json(" + quote_literal(path) + ", format = 'newline_delimited', sample_size = -1" +
             compression + ")";
    case InputFormat::kAuto:
      break;
  }
  return "read_json(" + quote_literal(path) + ", format = 'auto', sample_size = -1" + compression + ")";
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

TransformOutput transform(const ProcessorConfig& config, std::string_view input, std::string_view input_key,
                          const std::filesystem::path& scratch_dir) {
  const std::string where =
      "process " + config.name + ": s3://" + config.bucket + "/" + std::string(input_key);
  Scratch scratch(scratch_dir);
  const auto in_path = scratch.path() / "input";
  {
    // Scratch needs no durability (a crash re-processes from the event), so no fsync here.
    std::ofstream file(in_path, std::ios::binary);
    file.write(input.data(), static_cast<std::streamsize>(input.size()));
    if (!file.flush()) throw ProcessError(where + ": cannot write the scratch copy " + in_path.string());
  }
  TransformOutput out;
  try {
    sql::Database db({.allowed_directories = {scratch.path().string()}});
    sql::Connection c(db);
    // Each step is a CTE over the previous one; the whole is one query.
    std::string source = read_source(config.input_format, input, input_key, in_path.string());
    if (source.rfind("read_json(", 0) == 0) {
      // Infer the schema once over every record, then pin it: each later bind (flatten's describe,
      // the final describe, the COPY) would otherwise scan the whole input again to infer it.
      auto described = c.query("DESCRIBE SELECT * FROM " + source);
      std::string columns;
      for (size_t i = 0; i < described.row_count(); ++i) {
        if (!described.value(i, 0) || !described.value(i, 1)) continue;
        columns += (columns.empty() ? "" : ", ") + quote_literal(*described.value(i, 0)) + ": " +
                   quote_literal(*described.value(i, 1));
      }
      if (!columns.empty()) source.insert(source.size() - 1, ", columns = {" + columns + "}");
    }
    std::vector<std::pair<std::string, std::string>> ctes = {{"s0", "SELECT * FROM " + source}};
    auto query_so_far = [&] {
      std::string q = "WITH ";
      for (size_t i = 0; i < ctes.size(); ++i)
        q += (i ? ", " : "") + ctes[i].first + " AS (" + ctes[i].second + ")";
      return q + " SELECT * FROM " + ctes.back().first;
    };
    for (const Step& step : config.steps) {
      const std::string prev = ctes.back().first;
      std::string body;
      switch (step.kind) {
        case Step::Kind::kFlatten: {
          std::vector<std::string> select;
          std::map<std::string, std::string> seen;
          for (const auto& column : c.describe(query_so_far())) {
            flatten_into(column, quote_identifier(column.name), column.name, column.name, step.separator,
                         select, seen);
          }
          body = "SELECT ";
          for (size_t i = 0; i < select.size(); ++i) body += (i ? ", " : "") + select[i];
          body += " FROM " + prev;
          break;
        }
        case Step::Kind::kFilter:
          body = "SELECT * FROM " + prev + " WHERE (" + step.expression + ")";
          break;
        case Step::Kind::kSelect: {
          body = "SELECT ";
          for (size_t i = 0; i < step.columns.size(); ++i)
            body += (i ? ", " : "") + quote_identifier(step.columns[i]);
          body += " FROM " + prev;
          break;
        }
        case Step::Kind::kRename: {
          body = "SELECT * RENAME (";
          for (size_t i = 0; i < step.mapping.size(); ++i)
            body += (i ? ", " : "") + quote_identifier(step.mapping[i].first) + " AS " +
                    quote_identifier(step.mapping[i].second);
          body += ") FROM " + prev;
          break;
        }
        case Step::Kind::kCast: {
          body = "SELECT * REPLACE (";
          for (size_t i = 0; i < step.mapping.size(); ++i) {
            const auto column = quote_identifier(step.mapping[i].first);
            body += (i ? ", " : "") + std::string("CAST(") + column + " AS " + step.mapping[i].second +
                    ") AS " + column;
          }
          body += ") FROM " + prev;
          break;
        }
        case Step::Kind::kSql:
          body = "WITH input AS (SELECT * FROM " + prev + ") " + step.expression;
          break;
      }
      ctes.emplace_back("s" + std::to_string(ctes.size()), body);
    }
    out.sql = query_so_far();
    out.columns = c.describe(out.sql);
    const auto out_path = scratch.path() / "output";
    const char* format = config.output_format == OutputFormat::kParquet ? "FORMAT parquet"
                         : config.output_format == OutputFormat::kCsv   ? "FORMAT csv, HEADER true"
                                                                        : "FORMAT json";
    auto copied =
        c.query("COPY (" + out.sql + ") TO " + quote_literal(out_path.string()) + " (" + format + ")");
    out.records = copied.row_count() && copied.value(0, 0) ? std::stoull(*copied.value(0, 0)) : 0;
    out.bytes = fs::read_file(out_path);
  } catch (const Error& e) {
    throw ProcessError(where + ": " + e.what());
  }
  return out;
}

}  // namespace sluice::process
