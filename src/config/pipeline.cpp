#include "config/pipeline.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <optional>
#include <set>
#include <sstream>

#include "common/fs.h"
#include "common/time.h"
#include "config/validators.h"

namespace sluice::config {
namespace {

// A pipeline file is a page or two of YAML; a cap keeps a mistaken or hostile file (50 MB took 8 s
// and 1.3 GB to parse) from taking the machine.
constexpr size_t kMaxPipelineBytes = 1 << 20;

std::string too_large_message(uintmax_t size) {
  return "the pipeline file is " + std::to_string(size) + " bytes; the limit is 1 MiB (" +
         std::to_string(kMaxPipelineBytes) + " bytes)";
}

using extract::AuthConfig;
using extract::PaginationConfig;
using extract::SourceConfig;

// Edit distance, to suggest the key a user probably meant.
size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += sep;
    out += items[i];
  }
  return out;
}

std::string node_type_name(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return "\"" + node.Scalar() + "\"";
    case YAML::NodeType::Null:
      return "nothing";
    default:
      return "an undefined value";
  }
}

// Walks the YAML tree and collects diagnostics instead of stopping at the first problem.
class Reader {
 public:
  static constexpr size_t kMaxDiagnostics = 100;

  explicit Reader(std::string file) : file_(std::move(file)) {}
  const std::string& file() const { return file_; }

  void error(const YAML::Node& node, const std::string& path, const std::string& message) {
    const YAML::Mark mark = node.Mark();
    error_at(mark.line + 1, mark.column + 1, path, message);
  }
  void error_at(int line, int column, const std::string& path, const std::string& message) {
    if (diagnostics_.size() == kMaxDiagnostics) {
      // A hostile or broken file (YAML aliases can repeat one mistake millions of times) must not
      // take memory and minutes: stop at a page of problems.
      diagnostics_.push_back(Diagnostic{
          file_, line, column, path, "too many problems; stopped after " + std::to_string(kMaxDiagnostics)});
      throw ConfigError(std::move(diagnostics_));
    }
    diagnostics_.push_back(Diagnostic{file_, line, column, path, message});
  }
  std::vector<Diagnostic>& diagnostics() { return diagnostics_; }

  bool expect_map(const YAML::Node& node, const std::string& path) {
    if (node.IsMap()) return true;
    error(node, path, "expected a mapping, got " + node_type_name(node));
    return false;
  }

  // Reports every key of `node` that is not in `allowed`, suggesting the nearest allowed one.
  void check_keys(const YAML::Node& node, const std::string& path,
                  std::initializer_list<std::string_view> allowed) {
    for (const auto& entry : node) {
      const std::string key = entry.first.Scalar();
      if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
      std::string_view best;
      size_t best_distance = 3;
      for (auto candidate : allowed) {
        size_t d = edit_distance(key, candidate);
        if (d < best_distance) best_distance = d, best = candidate;
      }
      std::vector<std::string> names(allowed.begin(), allowed.end());
      std::string message = "unknown key \"" + key + "\"";
      message += best.empty() ? "; expected one of: " + join(names, ", ")
                              : "; did you mean \"" + std::string(best) + "\"?";
      error(entry.first, child(path, key), message);
    }
  }

  static std::string child(const std::string& path, std::string_view key) {
    return path.empty() ? std::string(key) : path + "." + std::string(key);
  }

  std::optional<std::string> string_at(const YAML::Node& map, std::string_view key, const std::string& path,
                                       bool required) {
    const YAML::Node node = map[std::string(key)];
    const std::string p = child(path, key);
    if (!node) {
      if (required) error(map, p, "missing required key \"" + std::string(key) + "\"");
      return std::nullopt;
    }
    if (!node.IsScalar()) {
      error(node, p, "expected a string, got " + node_type_name(node));
      return std::nullopt;
    }
    return node.Scalar();
  }

  std::optional<int64_t> int_at(const YAML::Node& map, std::string_view key, const std::string& path,
                                int64_t min, int64_t max) {
    const YAML::Node node = map[std::string(key)];
    if (!node) return std::nullopt;
    const std::string p = child(path, key);
    int64_t value = 0;
    if (!node.IsScalar() || !YAML::convert<int64_t>::decode(node, value)) {
      error(node, p, "expected an integer, got " + node_type_name(node));
      return std::nullopt;
    }
    if (value < min || value > max) {
      error(node, p,
            "expected an integer from " + std::to_string(min) + " to " + std::to_string(max) + ", got " +
                std::to_string(value));
      return std::nullopt;
    }
    return value;
  }

  std::optional<std::chrono::milliseconds> duration_at(const YAML::Node& map, std::string_view key,
                                                       const std::string& path,
                                                       std::chrono::milliseconds max) {
    auto text = string_at(map, key, path, false);
    if (!text) return std::nullopt;
    const YAML::Node node = map[std::string(key)];
    auto value = parse_duration(*text);
    if (!value) {
      error(node, child(path, key), "expected a duration like 250ms, 5s, 2m or 1h, got \"" + *text + "\"");
      return std::nullopt;
    }
    if (*value > max) {
      error(node, child(path, key),
            "duration \"" + *text + "\" is longer than the maximum of " + std::to_string(max.count() / 1000) +
                "s");
      return std::nullopt;
    }
    return value;
  }

  // A mapping of string to string (headers, query parameters), in file order.
  std::vector<std::pair<std::string, std::string>> string_map_at(const YAML::Node& map, std::string_view key,
                                                                 const std::string& path) {
    std::vector<std::pair<std::string, std::string>> out;
    const YAML::Node node = map[std::string(key)];
    if (!node) return out;
    const std::string p = child(path, key);
    if (!expect_map(node, p)) return out;
    for (const auto& entry : node) {
      const std::string name = entry.first.Scalar();
      if (!entry.second.IsScalar()) {
        error(entry.second, child(p, name), "expected a string value, got " + node_type_name(entry.second));
        continue;
      }
      out.emplace_back(name, entry.second.Scalar());
    }
    return out;
  }

  std::vector<std::string> string_list_at(const YAML::Node& map, std::string_view key,
                                          const std::string& path) {
    std::vector<std::string> out;
    const YAML::Node node = map[std::string(key)];
    if (!node) return out;
    const std::string p = child(path, key);
    if (node.IsScalar()) return {node.Scalar()};  // a single name is a list of one
    if (!node.IsSequence()) {
      error(node, p, "expected a list of names, got " + node_type_name(node));
      return out;
    }
    for (size_t i = 0; i < node.size(); ++i) {
      if (!node[i].IsScalar()) {
        error(node[i], p + "[" + std::to_string(i) + "]", "expected a name, got " + node_type_name(node[i]));
        continue;
      }
      out.push_back(node[i].Scalar());
    }
    return out;
  }

 private:
  std::string file_;
  std::vector<Diagnostic> diagnostics_;
};

bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
  });
}

// Names of sources and schedules appear in commands, keys and logs: keep them plain.
bool check_name(Reader& r, const YAML::Node& key, const std::string& path, const char* kind) {
  const std::string name = key.Scalar();
  if (valid_name(name)) return true;
  r.error(key, path,
          std::string(kind) + " names use letters, digits, '_', '-' and '.', got \"" + name + "\"");
  return false;
}

void parse_auth(Reader& r, const YAML::Node& node, const std::string& path, AuthConfig& auth) {
  if (!r.expect_map(node, path)) return;
  r.check_keys(node, path,
               {"type", "token_env", "header", "query_param", "value_env", "username_env", "password_env"});
  auto type = r.string_at(node, "type", path, true);
  if (!type) return;
  auto env_name = [&](std::string_view key, std::string& out) {
    auto v = r.string_at(node, key, path, true);
    if (!v) return;
    if (!valid_env_name(*v)) {
      r.error(node[std::string(key)], Reader::child(path, key),
              "expected an environment variable name (letters, digits, _), got \"" + *v + "\"");
      return;
    }
    out = *v;
  };
  if (*type == "bearer") {
    auth.kind = AuthConfig::Kind::kBearer;
    env_name("token_env", auth.token_env);
  } else if (*type == "api_key") {
    auth.kind = AuthConfig::Kind::kApiKey;
    env_name("value_env", auth.value_env);
    if (auto h = r.string_at(node, "header", path, false)) auth.header = *h;
    if (auto q = r.string_at(node, "query_param", path, false)) auth.query_param = *q;
  } else if (*type == "basic") {
    auth.kind = AuthConfig::Kind::kBasic;
    env_name("username_env", auth.username_env);
    env_name("password_env", auth.password_env);
  } else {
    r.error(node["type"], Reader::child(path, "type"),
            "expected one of bearer, api_key, basic, got \"" + *type + "\"");
  }
}

void parse_pagination(Reader& r, const YAML::Node& node, const std::string& path, PaginationConfig& page) {
  if (!r.expect_map(node, path)) return;
  r.check_keys(node, path,
               {"type", "page_param", "limit_param", "first_page", "limit", "next_field", "max_pages"});
  auto type = r.string_at(node, "type", path, true);
  if (!type) return;
  if (*type == "page") {
    page.kind = PaginationConfig::Kind::kPage;
  } else if (*type == "link_header") {
    page.kind = PaginationConfig::Kind::kLinkHeader;
  } else if (*type == "next_field") {
    page.kind = PaginationConfig::Kind::kNextField;
    if (auto f = r.string_at(node, "next_field", path, true)) page.next_field = *f;
  } else {
    r.error(node["type"], Reader::child(path, "type"),
            "expected one of page, link_header, next_field, got \"" + *type + "\"");
  }
  if (auto v = r.string_at(node, "page_param", path, false)) page.page_param = *v;
  if (auto v = r.string_at(node, "limit_param", path, false)) page.limit_param = *v;
  if (auto v = r.int_at(node, "first_page", path, 0, 1'000'000)) page.first_page = *v;
  if (auto v = r.int_at(node, "limit", path, 1, 1'000'000)) page.limit = *v;
  if (auto v = r.int_at(node, "max_pages", path, 1, 1'000'000)) page.max_pages = static_cast<int>(*v);
}

std::optional<uint64_t> size_at(Reader& r, const YAML::Node& map, std::string_view key,
                                const std::string& path, uint64_t min, uint64_t max);

void parse_source(Reader& r, const std::string& name, const YAML::Node& node, const std::string& path,
                  SourceConfig& src) {
  src.name = name;
  if (!r.expect_map(node, path)) return;
  r.check_keys(node, path,
               {"type", "url", "headers", "query", "auth", "timeout", "retry", "records_path", "pagination",
                "max_response_bytes", "max_total_bytes", "to", "timezone"});
  if (auto type = r.string_at(node, "type", path, false); type && *type != "http") {
    r.error(node["type"], Reader::child(path, "type"),
            "expected \"http\" (the only source type), got \"" + *type + "\"");
  }
  if (auto url = r.string_at(node, "url", path, true)) {
    if (url->rfind("http://", 0) != 0 && url->rfind("https://", 0) != 0) {
      r.error(node["url"], Reader::child(path, "url"),
              "expected an http:// or https:// URL, got \"" + *url + "\"");
    }
    src.url = *url;
  }
  for (auto& [k, v] : r.string_map_at(node, "headers", path)) src.headers[k] = v;
  src.query = r.string_map_at(node, "query", path);
  if (node["auth"]) parse_auth(r, node["auth"], Reader::child(path, "auth"), src.auth);
  if (const YAML::Node t = node["timeout"]) {
    const std::string p = Reader::child(path, "timeout");
    if (r.expect_map(t, p)) {
      r.check_keys(t, p, {"connect", "total"});
      if (auto v = r.duration_at(t, "connect", p, std::chrono::minutes(10))) src.connect_timeout = *v;
      if (auto v = r.duration_at(t, "total", p, std::chrono::hours(1))) src.total_timeout = *v;
    }
  }
  if (const YAML::Node t = node["retry"]) {
    const std::string p = Reader::child(path, "retry");
    if (r.expect_map(t, p)) {
      r.check_keys(t, p, {"max_attempts", "base_delay", "max_delay", "max_retry_after"});
      if (auto v = r.int_at(t, "max_attempts", p, 1, 100)) src.retry.max_attempts = static_cast<int>(*v);
      if (auto v = r.duration_at(t, "base_delay", p, std::chrono::minutes(10))) src.retry.base_delay = *v;
      if (auto v = r.duration_at(t, "max_delay", p, std::chrono::hours(1))) src.retry.max_delay = *v;
      if (auto v = r.duration_at(t, "max_retry_after", p, std::chrono::hours(1)))
        src.retry.max_retry_after = *v;
    }
  }
  if (auto v = r.string_at(node, "records_path", path, false)) src.records_path = *v;
  if (node["pagination"])
    parse_pagination(r, node["pagination"], Reader::child(path, "pagination"), src.pagination);
  if (auto v = size_at(r, node, "max_response_bytes", path, 1, uint64_t{4} << 30))
    src.max_response_bytes = *v;
  if (auto v = size_at(r, node, "max_total_bytes", path, 1, uint64_t{1} << 40)) src.max_total_bytes = *v;
  if (auto to = r.string_at(node, "to", path, true)) {
    if (std::string why = validate_destination(*to); !why.empty()) {
      r.error(node["to"], Reader::child(path, "to"), why);
    }
    src.to = *to;
  }
}

std::string declared_bucket_problem(const std::string& bucket, const std::set<std::string>& declared) {
  if (declared.count(bucket)) return "";
  return "bucket \"" + bucket + "\" is not declared under buckets:" +
         (declared.empty() ? std::string(" (none are)")
                           : " (declared: " + join({declared.begin(), declared.end()}, ", ") + ")");
}

void parse_step(Reader& r, const YAML::Node& node, const std::string& path, process::Step& step) {
  using process::Step;
  // A step is a one-key mapping ({filter: "id < 5"}) or the bare word flatten.
  if (node.IsScalar() && node.Scalar() == "flatten") {
    step.kind = Step::Kind::kFlatten;
    return;
  }
  if (!node.IsMap() || node.size() != 1) {
    r.error(node, path,
            "expected one of flatten, filter, select, rename, cast, sql as a one-key mapping, got " +
                node_type_name(node));
    return;
  }
  const std::string kind = node.begin()->first.Scalar();
  const YAML::Node value = node.begin()->second;
  const std::string p = Reader::child(path, kind);
  if (kind == "flatten") {
    step.kind = Step::Kind::kFlatten;
    if (value.IsMap()) {
      r.check_keys(value, p, {"separator"});
      if (auto sep = r.string_at(value, "separator", p, false)) step.separator = *sep;
    } else if (!value.IsNull()) {
      r.error(value, p, "expected {separator: \"_\"} or nothing, got " + node_type_name(value));
    }
  } else if (kind == "filter" || kind == "sql") {
    step.kind = kind == "filter" ? Step::Kind::kFilter : Step::Kind::kSql;
    if (!value.IsScalar() || value.Scalar().empty()) {
      r.error(value, p,
              std::string("expected ") +
                  (kind == "filter" ? "a SQL boolean expression" : "a SELECT ... FROM input") + ", got " +
                  node_type_name(value));
    } else {
      step.expression = value.Scalar();
    }
  } else if (kind == "select") {
    step.kind = Step::Kind::kSelect;
    YAML::Node holder;
    holder["select"] = value;
    step.columns = r.string_list_at(holder, "select", path);
    if (step.columns.empty()) r.error(value, p, "expected a list of column names");
  } else if (kind == "rename" || kind == "cast") {
    step.kind = kind == "rename" ? Step::Kind::kRename : Step::Kind::kCast;
    if (!value.IsMap() || value.size() == 0) {
      r.error(value, p,
              std::string("expected a mapping of ") + (kind == "rename" ? "old: new names" : "column: TYPE") +
                  ", got " + node_type_name(value));
    } else {
      YAML::Node holder;
      holder[kind] = value;
      step.mapping = r.string_map_at(holder, kind, path);
    }
  } else {
    r.error(node.begin()->first, p,
            "unknown step \"" + kind + "\"; expected flatten, filter, select, rename, cast or sql");
  }
}

void parse_processor(Reader& r, const std::string& name, const YAML::Node& node, const std::string& path,
                     const std::set<std::string>& buckets, process::ProcessorConfig& proc,
                     std::map<std::string, Diagnostic>& locations) {
  proc.name = name;
  proc.error_prefix = "errors/" + name + "/";
  if (!r.expect_map(node, path)) return;
  r.check_keys(node, path, {"input", "steps", "output", "error_prefix"});
  if (const YAML::Node input = node["input"]; input && r.expect_map(input, path + ".input")) {
    const std::string p = path + ".input";
    r.check_keys(input, p, {"bucket", "prefix", "suffix", "format", "schema"});
    if (const YAML::Node schema = input["schema"]) {
      if (!schema.IsMap() || schema.size() == 0) {
        r.error(schema, p + ".schema",
                "expected a mapping of column: DuckDB type, got " + node_type_name(schema));
      } else {
        for (const auto& entry : schema) {
          if (!entry.second.IsScalar() || entry.second.Scalar().empty()) {
            r.error(entry.second, p + ".schema." + entry.first.Scalar(), "expected a DuckDB type name");
            continue;
          }
          proc.input_schema.emplace_back(entry.first.Scalar(), entry.second.Scalar());
        }
      }
    }
    if (auto b = r.string_at(input, "bucket", p, true)) {
      proc.bucket = *b;
      if (auto why = declared_bucket_problem(*b, buckets); !why.empty())
        r.error(input["bucket"], p + ".bucket", why);
    }
    if (auto v = r.string_at(input, "prefix", p, false)) proc.prefix = *v;
    if (auto v = r.string_at(input, "suffix", p, false)) proc.suffix = *v;
    if (auto f = r.string_at(input, "format", p, false)) {
      if (*f == "auto")
        proc.input_format = process::InputFormat::kAuto;
      else if (*f == "json")
        proc.input_format = process::InputFormat::kJsonArray;
      else if (*f == "jsonl")
        proc.input_format = process::InputFormat::kJsonLines;
      else if (*f == "csv")
        proc.input_format = process::InputFormat::kCsv;
      else
        r.error(input["format"], p + ".format", "expected one of auto, json, jsonl, csv, got \"" + *f + "\"");
    }
  } else if (!node["input"]) {
    r.error(node, path + ".input", "missing required key \"input\" (bucket, prefix, suffix)");
  }
  if (const YAML::Node steps = node["steps"]) {
    if (!steps.IsSequence()) {
      r.error(steps, path + ".steps", "expected a list of steps, got " + node_type_name(steps));
    } else {
      for (size_t i = 0; i < steps.size(); ++i) {
        process::Step step;
        const std::string p = path + ".steps[" + std::to_string(i) + "]";
        parse_step(r, steps[i], p, step);
        proc.steps.push_back(std::move(step));
        // A problem with a step's SQL points at its value (the SQL text), where there is one.
        const YAML::Node at = steps[i].IsMap() && steps[i].size() == 1 ? steps[i].begin()->second : steps[i];
        locations[name + "/" + std::to_string(i)] =
            Diagnostic{r.file(), at.Mark().line + 1, at.Mark().column + 1, p, ""};
      }
    }
  }
  proc.output_bucket = proc.bucket;
  if (const YAML::Node output = node["output"]; output && r.expect_map(output, path + ".output")) {
    const std::string p = path + ".output";
    r.check_keys(output, p, {"bucket", "key", "format"});
    if (auto b = r.string_at(output, "bucket", p, false)) {
      proc.output_bucket = *b;
      if (auto why = declared_bucket_problem(*b, buckets); !why.empty())
        r.error(output["bucket"], p + ".bucket", why);
    }
    if (auto k = r.string_at(output, "key", p, true)) {
      proc.output_key = *k;
      if (auto why = process::validate_output_key(*k); !why.empty()) r.error(output["key"], p + ".key", why);
      // An output that the processor itself would take again would loop forever.
      const std::string literal = k->substr(0, k->find('{'));
      if (proc.output_bucket == proc.bucket && literal.rfind(proc.prefix, 0) == 0 &&
          (proc.suffix.empty() ||
           (k->size() >= proc.suffix.size() &&
            k->compare(k->size() - proc.suffix.size(), std::string::npos, proc.suffix) == 0))) {
        r.error(output["key"], p + ".key",
                "the output key starts with the input prefix \"" + proc.prefix +
                    "\": the processor would process its own output; write it under another prefix");
      }
    }
    if (auto f = r.string_at(output, "format", p, false)) {
      if (*f == "jsonl")
        proc.output_format = process::OutputFormat::kJsonLines;
      else if (*f == "parquet")
        proc.output_format = process::OutputFormat::kParquet;
      else if (*f == "csv")
        proc.output_format = process::OutputFormat::kCsv;
      else
        r.error(output["format"], p + ".format", "expected one of jsonl, parquet, csv, got \"" + *f + "\"");
    }
  } else if (!node["output"]) {
    r.error(node, path + ".output", "missing required key \"output\" (key, format)");
  }
  if (auto e = r.string_at(node, "error_prefix", path, false)) {
    proc.error_prefix = *e;
    if (!e->empty() && e->rfind(proc.prefix, 0) == 0 && !proc.prefix.empty()) {
      r.error(node["error_prefix"], path + ".error_prefix",
              "the error prefix must not be inside the input prefix");
    }
  }
}

// "s3://bucket/prefix/" -> (bucket, prefix); prefix empty or ending with '/'.
std::optional<std::pair<std::string, std::string>> parse_s3_folder(const std::string& url, std::string& why) {
  constexpr std::string_view kScheme = "s3://";
  if (url.rfind(kScheme, 0) != 0) {
    why = "expected s3://BUCKET/PREFIX/, got \"" + url + "\"";
    return std::nullopt;
  }
  const std::string rest = url.substr(kScheme.size());
  const auto slash = rest.find('/');
  std::string bucket = rest.substr(0, slash);
  std::string prefix = slash == std::string::npos ? "" : rest.substr(slash + 1);
  if (bucket.empty()) {
    why = "expected s3://BUCKET/PREFIX/ with a bucket, got \"" + url + "\"";
    return std::nullopt;
  }
  if (!prefix.empty() && prefix.back() != '/') prefix += '/';
  return std::make_pair(bucket, prefix);
}

bool valid_glue_name(std::string_view name) {
  return !name.empty() && name.size() <= 255 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

void parse_crawler(Reader& r, const std::string& name, const YAML::Node& node, const std::string& path,
                   const std::set<std::string>& buckets, catalog::CrawlerConfig& crawler) {
  crawler.name = name;
  if (!r.expect_map(node, path)) return;
  r.check_keys(node, path, {"database", "targets", "table_prefix", "on_change"});
  if (auto db = r.string_at(node, "database", path, true)) {
    if (!valid_glue_name(*db)) {
      r.error(node["database"], path + ".database",
              "database names use lower-case letters, digits and '_' (as in Glue), got \"" + *db + "\"");
    }
    crawler.database = *db;
  }
  if (!node["targets"])
    r.error(node, path + ".targets", "missing required key \"targets\" (s3://BUCKET/PREFIX/ folders)");
  const auto targets = r.string_list_at(node, "targets", path);
  for (size_t i = 0; i < targets.size(); ++i) {
    const std::string p = path + ".targets[" + std::to_string(i) + "]";
    const YAML::Node t = node["targets"].IsSequence() ? node["targets"][i] : node["targets"];
    std::string why;
    auto folder = parse_s3_folder(targets[i], why);
    if (!folder) {
      r.error(t, p, why);
      continue;
    }
    if (auto problem = declared_bucket_problem(folder->first, buckets); !problem.empty())
      r.error(t, p, problem);
    crawler.targets.push_back({folder->first, folder->second});
  }
  if (auto prefix = r.string_at(node, "table_prefix", path, false)) crawler.table_prefix = *prefix;
  if (const YAML::Node on_change = node["on_change"]) {
    bool value = true;
    if (!on_change.IsScalar() || !YAML::convert<bool>::decode(on_change, value))
      r.error(on_change, path + ".on_change", "expected true or false, got " + node_type_name(on_change));
    crawler.on_change = value;
  }
}

void parse_query(Reader& r, const YAML::Node& node, const std::set<std::string>& buckets,
                 query::QueryConfig& query) {
  if (!r.expect_map(node, "query")) return;
  r.check_keys(node, "query",
               {"database", "output_location", "threads", "memory_limit", "timeout", "max_inline_rows",
                "max_sql_bytes"});
  if (auto db = r.string_at(node, "database", "query", false)) {
    if (!valid_glue_name(*db))
      r.error(node["database"], "query.database",
              "database names use lower-case letters, digits and '_' (as in Glue), got \"" + *db + "\"");
    query.database = *db;
  }
  if (auto out = r.string_at(node, "output_location", "query", false)) {
    std::string why;
    if (auto folder = parse_s3_folder(*out, why)) {
      if (auto problem = declared_bucket_problem(folder->first, buckets); !problem.empty())
        r.error(node["output_location"], "query.output_location", problem);
      query.output_bucket = folder->first;
      query.output_prefix = folder->second;
    } else {
      r.error(node["output_location"], "query.output_location", why);
    }
  }
  if (auto t = r.int_at(node, "threads", "query", 0, 256)) query.threads = static_cast<int>(*t);
  if (auto m = r.string_at(node, "memory_limit", "query", false)) query.memory_limit = *m;
  if (auto t = r.duration_at(node, "timeout", "query", std::chrono::hours(24))) query.timeout = *t;
  if (auto n = r.int_at(node, "max_inline_rows", "query", 0, 100'000))
    query.max_inline_rows = static_cast<size_t>(*n);
  if (auto n = size_at(r, node, "max_sql_bytes", "query", 1024, 64 << 20))
    query.max_sql_bytes = static_cast<size_t>(*n);
}

// Sizes as written in pipeline files: 1048576, 512KiB, 5MiB, 1GiB.
std::optional<uint64_t> parse_size(const std::string& text) {
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  if (digits == 0 || digits > 15) return std::nullopt;
  const uint64_t value = std::stoull(text.substr(0, digits));
  const std::string unit = text.substr(digits);
  if (unit.empty() || unit == "B") return value;
  if (unit == "KiB" || unit == "KB") return value << 10;
  if (unit == "MiB" || unit == "MB") return value << 20;
  if (unit == "GiB" || unit == "GB") return value << 30;
  return std::nullopt;
}

std::optional<uint64_t> size_at(Reader& r, const YAML::Node& map, std::string_view key,
                                const std::string& path, uint64_t min, uint64_t max) {
  auto text = r.string_at(map, key, path, false);
  if (!text) return std::nullopt;
  auto value = parse_size(*text);
  const YAML::Node node = map[std::string(key)];
  if (!value) {
    r.error(node, Reader::child(path, key),
            "expected a size like 1048576, 512KiB or 5MiB, got \"" + *text + "\"");
    return std::nullopt;
  }
  if (*value < min || *value > max) {
    r.error(node, Reader::child(path, key),
            "expected a size from " + std::to_string(min) + " to " + std::to_string(max) + " bytes, got " +
                std::to_string(*value));
    return std::nullopt;
  }
  return value;
}

void parse_stream(Reader& r, const std::string& name, const YAML::Node& node, const std::string& path,
                  stream::StreamConfig& s) {
  s.name = name;
  if (node.IsNull()) return;  // all defaults
  if (!r.expect_map(node, path)) return;
  r.check_keys(node, path,
               {"shards", "fsync", "fsync_interval", "retention", "segment_bytes", "max_pending_bytes",
                "min_free_disk"});
  if (auto v = r.int_at(node, "shards", path, 1, 64)) s.shards = static_cast<int>(*v);
  if (auto f = r.string_at(node, "fsync", path, false)) {
    if (*f == "always")
      s.fsync = stream::StreamConfig::FsyncPolicy::kAlways;
    else if (*f == "interval")
      s.fsync = stream::StreamConfig::FsyncPolicy::kInterval;
    else if (*f == "never")
      s.fsync = stream::StreamConfig::FsyncPolicy::kNever;
    else
      r.error(node["fsync"], path + ".fsync", "expected one of always, interval, never, got \"" + *f + "\"");
  }
  if (auto v = r.duration_at(node, "fsync_interval", path, std::chrono::minutes(10))) s.fsync_interval = *v;
  if (auto v = r.duration_at(node, "retention", path, std::chrono::hours(24 * 365))) s.retention = *v;
  if (auto v = size_at(r, node, "segment_bytes", path, 1024, uint64_t{1} << 32)) s.segment_bytes = *v;
  if (auto v = size_at(r, node, "max_pending_bytes", path, 1 << 20, uint64_t{1} << 34))
    s.max_pending_bytes = static_cast<size_t>(*v);
  if (auto v = size_at(r, node, "min_free_disk", path, 0, uint64_t{1} << 50)) s.min_free_bytes = *v;
}

void parse_delivery(Reader& r, const std::string& name, const YAML::Node& node, const std::string& path,
                    const std::set<std::string>& buckets, const Pipeline& pipeline,
                    delivery::DeliveryConfig& d) {
  d.name = name;
  if (!r.expect_map(node, path)) return;
  r.check_keys(node, path, {"stream", "to", "error_prefix", "buffer", "compression", "delimiter"});
  if (auto s = r.string_at(node, "stream", path, true)) {
    d.stream = *s;
    if (!pipeline.find_stream(*s))
      r.error(node["stream"], path + ".stream", "no stream named \"" + *s + "\" is declared under streams:");
  }
  if (auto to = r.string_at(node, "to", path, true)) {
    std::string why;
    if (auto folder = parse_s3_folder(*to, why)) {
      if (auto problem = declared_bucket_problem(folder->first, buckets); !problem.empty())
        r.error(node["to"], path + ".to", problem);
      d.bucket = folder->first;
      // The prefix is kept as written (parse_s3_folder would add a '/'): Firehose appends names to it.
      const std::string rest = to->substr(5 + folder->first.size());
      d.prefix = rest.empty() ? "" : rest.substr(1);
      if (auto bad = delivery::validate_prefix(d.prefix); !bad.empty())
        r.error(node["to"], path + ".to", bad);
    } else {
      r.error(node["to"], path + ".to", why);
    }
  }
  if (auto e = r.string_at(node, "error_prefix", path, false)) {
    d.error_prefix = *e;
    if (auto bad = delivery::validate_prefix(*e); !bad.empty())
      r.error(node["error_prefix"], path + ".error_prefix", bad);
  }
  if (const YAML::Node buffer = node["buffer"]) {
    const std::string p = path + ".buffer";
    if (r.expect_map(buffer, p)) {
      r.check_keys(buffer, p, {"size", "interval"});
      if (auto v = size_at(r, buffer, "size", p, 1 << 20, 128 << 20)) d.buffer_bytes = *v;
      if (auto v = r.duration_at(buffer, "interval", p, std::chrono::seconds(900))) d.buffer_interval = *v;
    }
  }
  if (auto c = r.string_at(node, "compression", path, false)) {
    if (*c == "none")
      d.compression = delivery::Compression::kNone;
    else if (*c == "gzip")
      d.compression = delivery::Compression::kGzip;
    else if (*c == "zstd")
      d.compression = delivery::Compression::kZstd;
    else
      r.error(node["compression"], path + ".compression",
              "expected one of none, gzip, zstd, got \"" + *c + "\"");
  }
  if (auto v = r.string_at(node, "delimiter", path, false)) d.delimiter = *v;
}

}  // namespace

std::string Diagnostic::to_string() const {
  std::ostringstream out;
  out << file;
  if (line > 0) out << ':' << line << ':' << column;
  out << ": ";
  if (!path.empty()) out << path << ": ";
  out << message;
  return out.str();
}

static std::string join_diagnostics(const std::vector<Diagnostic>& diagnostics) {
  std::string out;
  for (size_t i = 0; i < diagnostics.size(); ++i) {
    if (i) out += '\n';
    out += diagnostics[i].to_string();
  }
  return out;
}

ConfigError::ConfigError(std::vector<Diagnostic> diagnostics)
    : Error(join_diagnostics(diagnostics)), diagnostics_(std::move(diagnostics)) {}

const ScheduleConfig* Pipeline::find_schedule(std::string_view name) const {
  for (const auto& s : schedules)
    if (s.name == name) return &s;
  return nullptr;
}

const process::ProcessorConfig* Pipeline::find_processor(std::string_view name) const {
  for (const auto& p : processors)
    if (p.name == name) return &p;
  return nullptr;
}

const catalog::CrawlerConfig* Pipeline::find_crawler(std::string_view name) const {
  for (const auto& c : crawlers)
    if (c.name == name) return &c;
  return nullptr;
}

const stream::StreamConfig* Pipeline::find_stream(std::string_view name) const {
  for (const auto& s : streams)
    if (s.name == name) return &s;
  return nullptr;
}

const extract::SourceConfig* Pipeline::find_source(std::string_view name) const {
  for (const auto& s : sources)
    if (s.name == name) return &s;
  return nullptr;
}

std::string Pipeline::timezone_for_source(std::string_view source) const {
  if (auto it = source_timezones.find(std::string(source)); it != source_timezones.end()) return it->second;
  for (const auto& s : schedules)
    if (std::find(s.targets.begin(), s.targets.end(), source) != s.targets.end()) return s.timezone;
  return "UTC";
}

Pipeline parse_pipeline(std::string_view yaml_text, const std::filesystem::path& file) {
  Reader r(file.string());
  Pipeline pipeline;
  pipeline.file = file;
  if (yaml_text.size() > kMaxPipelineBytes) {
    r.error_at(1, 1, "", too_large_message(yaml_text.size()));
    throw ConfigError(std::move(r.diagnostics()));
  }
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml_text));
  } catch (const YAML::ParserException& e) {
    r.error_at(e.mark.line + 1, e.mark.column + 1, "", "YAML syntax error: " + e.msg);
    throw ConfigError(std::move(r.diagnostics()));
  }
  if (!root.IsMap()) {
    r.error_at(1, 1, "",
               "expected a mapping with keys version, data_dir, server, buckets, schedules, sources");
    throw ConfigError(std::move(r.diagnostics()));
  }
  r.check_keys(root, "",
               {"version", "data_dir", "server", "buckets", "schedules", "sources", "processors", "crawlers",
                "query", "streams", "deliveries"});
  if (auto v = r.int_at(root, "version", "", 1, 1); !v && !root["version"]) {
    // version is optional; 1 is the only one.
  }

  const auto base = file.has_parent_path() ? std::filesystem::absolute(file).parent_path()
                                           : std::filesystem::current_path();
  pipeline.data_dir = base / "data";
  if (auto dir = r.string_at(root, "data_dir", "", false)) {
    pipeline.data_dir = std::filesystem::path(*dir).is_absolute() ? std::filesystem::path(*dir) : base / *dir;
  }
  pipeline.data_dir = pipeline.data_dir.lexically_normal();

  if (const YAML::Node server = root["server"]) {
    if (r.expect_map(server, "server")) {
      r.check_keys(server, "server",
                   {"host", "port", "auth", "max_connections", "max_connections_per_client",
                    "handler_threads", "header_timeout", "body_timeout", "idle_timeout", "write_timeout"});
      auto& sc = pipeline.server;
      if (auto v = r.int_at(server, "max_connections", "server", 1, 100'000))
        sc.max_connections = static_cast<int>(*v);
      if (auto v = r.int_at(server, "max_connections_per_client", "server", 0, 100'000))
        sc.max_connections_per_client = static_cast<int>(*v);
      if (auto v = r.int_at(server, "handler_threads", "server", 1, 256))
        sc.handler_threads = static_cast<int>(*v);
      for (auto [key, field] :
           {std::pair{"header_timeout", &sc.header_timeout}, std::pair{"body_timeout", &sc.body_timeout},
            std::pair{"idle_timeout", &sc.idle_timeout}, std::pair{"write_timeout", &sc.write_timeout}}) {
        if (auto v = r.duration_at(server, key, "server", std::chrono::hours(1))) {
          if (v->count() == 0)
            r.error(server[key], Reader::child("server", key), "expected a duration above 0");
          else
            *field = *v;
        }
      }
      if (auto host = r.string_at(server, "host", "server", false)) pipeline.server.host = *host;
      if (auto port = r.int_at(server, "port", "server", 0, 65535))
        pipeline.server.port = static_cast<int>(*port);
      if (const YAML::Node auth = server["auth"]; auth && r.expect_map(auth, "server.auth")) {
        r.check_keys(auth, "server.auth", {"token_env"});
        if (auto env = r.string_at(auth, "token_env", "server.auth", true)) {
          if (!valid_env_name(*env))
            r.error(auth["token_env"], "server.auth.token_env",
                    "expected an environment variable name (letters, digits, _), got \"" + *env + "\"");
          pipeline.server.token_env = *env;
        }
      }
    }
  }

  // buckets: a list of names (or of mappings with `name`, to leave room for per-bucket settings).
  std::set<std::string> bucket_names;
  if (const YAML::Node buckets = root["buckets"]) {
    if (!buckets.IsSequence()) {
      r.error(buckets, "buckets", "expected a list of bucket names, got " + node_type_name(buckets));
    } else {
      for (size_t i = 0; i < buckets.size(); ++i) {
        const std::string p = "buckets[" + std::to_string(i) + "]";
        YAML::Node b = buckets[i];
        std::string name;
        if (b.IsScalar()) {
          name = b.Scalar();
        } else if (b.IsMap()) {
          r.check_keys(b, p, {"name"});
          if (auto n = r.string_at(b, "name", p, true))
            name = *n;
          else
            continue;
        } else {
          r.error(b, p, "expected a bucket name, got " + node_type_name(b));
          continue;
        }
        if (std::string why = validate_bucket(name); !why.empty()) {
          r.error(b, p, why);
        } else if (!bucket_names.insert(name).second) {
          r.error(b, p, "bucket \"" + name + "\" is declared twice");
        } else {
          pipeline.buckets.push_back(name);
        }
      }
    }
  }

  // sources (parsed before schedules so that targets can be checked).
  std::vector<std::pair<std::string, YAML::Node>> source_nodes;
  if (const YAML::Node sources = root["sources"]; sources && r.expect_map(sources, "sources")) {
    for (const auto& entry : sources) {
      const std::string name = entry.first.Scalar();
      const std::string p = "sources." + name;
      if (!check_name(r, entry.first, p, "source")) continue;
      extract::SourceConfig src;
      parse_source(r, name, entry.second, p, src);
      if (!src.to.empty() && entry.second.IsMap()) {
        std::string bucket = destination_bucket(src.to);
        if (!bucket.empty() && !bucket_names.count(bucket)) {
          r.error(entry.second["to"], p + ".to",
                  "writes to bucket \"" + bucket + "\", which is not declared under buckets:" +
                      (bucket_names.empty()
                           ? std::string(" (none are)")
                           : " (declared: " + join({bucket_names.begin(), bucket_names.end()}, ", ") + ")"));
        }
      }
      pipeline.sources.push_back(std::move(src));
      source_nodes.emplace_back(name, entry.second);
    }
  }

  if (const YAML::Node streams = root["streams"]; streams && r.expect_map(streams, "streams")) {
    for (const auto& entry : streams) {
      const std::string name = entry.first.Scalar();
      const std::string p = "streams." + name;
      if (!check_name(r, entry.first, p, "stream")) continue;
      stream::StreamConfig config;
      parse_stream(r, name, entry.second, p, config);
      pipeline.streams.push_back(std::move(config));
    }
  }
  if (const YAML::Node deliveries = root["deliveries"];
      deliveries && r.expect_map(deliveries, "deliveries")) {
    for (const auto& entry : deliveries) {
      const std::string name = entry.first.Scalar();
      const std::string p = "deliveries." + name;
      if (!check_name(r, entry.first, p, "delivery")) continue;
      delivery::DeliveryConfig config;
      parse_delivery(r, name, entry.second, p, bucket_names, pipeline, config);
      pipeline.deliveries.push_back(std::move(config));
    }
  }
  if (const YAML::Node crawlers = root["crawlers"]; crawlers && r.expect_map(crawlers, "crawlers")) {
    for (const auto& entry : crawlers) {
      const std::string name = entry.first.Scalar();
      const std::string p = "crawlers." + name;
      if (!check_name(r, entry.first, p, "crawler")) continue;
      if (pipeline.find_source(name)) {
        r.error(
            entry.first, p,
            "a source is also named \"" + name + "\"; sources, crawlers and schedules need distinct names");
      }
      catalog::CrawlerConfig crawler;
      parse_crawler(r, name, entry.second, p, bucket_names, crawler);
      pipeline.crawlers.push_back(std::move(crawler));
    }
  }
  if (!pipeline.crawlers.empty()) pipeline.query.database = pipeline.crawlers.front().database;
  if (!pipeline.buckets.empty()) {
    pipeline.query.output_bucket = pipeline.buckets.front();
    pipeline.query.output_prefix = "athena/results/";
  }
  if (const YAML::Node query = root["query"]) parse_query(r, query, bucket_names, pipeline.query);

  if (const YAML::Node schedules = root["schedules"]; schedules && r.expect_map(schedules, "schedules")) {
    for (const auto& entry : schedules) {
      const std::string name = entry.first.Scalar();
      const std::string p = "schedules." + name;
      if (!check_name(r, entry.first, p, "schedule")) continue;
      if (pipeline.find_source(name) || pipeline.find_crawler(name)) {
        // `sluice trigger NAME` takes any of them, so one name must not mean two things.
        r.error(entry.first, p,
                std::string("a ") + (pipeline.find_source(name) ? "source" : "crawler") +
                    " is also named \"" + name + "\"; schedules, sources and crawlers need distinct names");
      }
      const YAML::Node node = entry.second;
      if (!r.expect_map(node, p)) continue;
      r.check_keys(node, p, {"expression", "timezone", "catch_up", "targets"});
      ScheduleConfig sched;
      sched.name = name;
      if (auto tz = r.string_at(node, "timezone", p, false)) {
        if (std::string why = validate_timezone(*tz); !why.empty())
          r.error(node["timezone"], p + ".timezone", why);
        else
          sched.timezone = *tz;
      }
      if (auto expr = r.string_at(node, "expression", p, true)) {
        sched.expression = *expr;
        if (auto problem = validate_schedule_expression(*expr, sched.timezone)) {
          // Point at the offending character when the expression is on the same line as its key.
          YAML::Mark mark = node["expression"].Mark();
          int column = mark.column + 1;
          const bool quoted = yaml_text.size() > static_cast<size_t>(mark.pos) &&
                              (yaml_text[mark.pos] == '"' || yaml_text[mark.pos] == '\'');
          column += (quoted ? 1 : 0) + problem->offset;
          r.error_at(mark.line + 1, column, p + ".expression", problem->message);
        }
      }
      if (auto policy = r.string_at(node, "catch_up", p, false)) {
        if (auto parsed = schedule::parse_catch_up(*policy)) {
          sched.catch_up = *parsed;
        } else {
          r.error(node["catch_up"], p + ".catch_up",
                  "expected one of none, latest, all, got \"" + *policy + "\"");
        }
      }
      sched.targets = r.string_list_at(node, "targets", p);
      if (!node["targets"])
        r.error(node, p + ".targets", "missing required key \"targets\" (the sources and crawlers to run)");
      for (size_t i = 0; i < sched.targets.size(); ++i) {
        if (!pipeline.find_source(sched.targets[i]) && !pipeline.find_crawler(sched.targets[i])) {
          YAML::Node t = node["targets"].IsSequence() ? node["targets"][i] : node["targets"];
          r.error(t, p + ".targets[" + std::to_string(i) + "]",
                  "no source or crawler named \"" + sched.targets[i] +
                      "\" is declared under sources: or crawlers:");
        }
      }
      pipeline.schedules.push_back(std::move(sched));
    }
  }

  if (const YAML::Node processors = root["processors"];
      processors && r.expect_map(processors, "processors")) {
    for (const auto& entry : processors) {
      const std::string name = entry.first.Scalar();
      const std::string p = "processors." + name;
      if (!check_name(r, entry.first, p, "processor")) continue;
      process::ProcessorConfig proc;
      parse_processor(r, name, entry.second, p, bucket_names, proc, pipeline.step_locations);
      pipeline.processors.push_back(std::move(proc));
    }
  }

  // A source that writes into a stream names a declared one.
  for (const auto& src : pipeline.sources) {
    if (src.to.rfind("stream://", 0) != 0) continue;
    const std::string stream = src.to.substr(9);
    if (pipeline.find_stream(stream)) continue;
    for (auto& [name, node] : source_nodes) {
      if (name == src.name && node.IsMap())
        r.error(node["to"], "sources." + name + ".to",
                "no stream named \"" + stream + "\" is declared under streams:");
    }
  }

  // A source's own `timezone:` overrides the one it would inherit from its schedule.
  for (auto& [name, node] : source_nodes) {
    if (!node.IsMap() || !node["timezone"]) continue;
    auto tz = r.string_at(node, "timezone", "sources." + name, false);
    if (!tz) continue;
    if (std::string why = validate_timezone(*tz); !why.empty()) {
      r.error(node["timezone"], "sources." + name + ".timezone", why);
    } else {
      pipeline.source_timezones[name] = *tz;
    }
  }

  if (!r.diagnostics().empty()) throw ConfigError(std::move(r.diagnostics()));
  return pipeline;
}

Pipeline load_pipeline(const std::filesystem::path& file) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(file, ec);
  if (!ec && size > kMaxPipelineBytes)
    throw ConfigError({Diagnostic{file.string(), 1, 1, "", too_large_message(size)}});
  std::string text;
  try {
    text = fs::read_file(file);
  } catch (const Error& e) {
    throw ConfigError({Diagnostic{file.string(), 0, 0, "", e.what()}});
  }
  return parse_pipeline(text, file);
}

}  // namespace sluice::config

namespace sluice::config {

std::vector<Diagnostic> check_processors(const Pipeline& pipeline, const InputSample& sample) {
  std::vector<Diagnostic> out;
  for (const auto& proc : pipeline.processors) {
    std::vector<process::StepProblem> problems = process::parse_only_problems(proc);
    std::string shape_source;
    if (problems.empty()) {
      std::vector<sql::Column> shape;
      if (!proc.input_schema.empty()) {
        for (const auto& [name, type] : proc.input_schema)
          shape.push_back(sql::Column{.name = name, .type = type});
        shape_source = "the declared input.schema";
      } else if (auto found = sample ? sample(proc) : std::nullopt) {
        try {
          shape = process::infer_input_shape(proc, found->second, found->first, 10'000);
          shape_source = "the columns of s3://" + proc.bucket + "/" + found->first;
        } catch (const Error&) {
          // An unreadable sample says nothing about the steps: it will be quarantined on its own.
        }
      }
      if (!shape.empty()) problems = process::check_steps(proc, shape);
    }
    for (const auto& problem : problems) {
      auto it = pipeline.step_locations.find(proc.name + "/" + std::to_string(problem.step_index));
      Diagnostic d = it != pipeline.step_locations.end()
                         ? it->second
                         : Diagnostic{pipeline.file.string(), 0, 0, "processors." + proc.name + ".steps", ""};
      d.message = problem.message + (shape_source.empty() ? "" : " (bound against " + shape_source + ")");
      out.push_back(std::move(d));
    }
  }
  return out;
}

}  // namespace sluice::config
