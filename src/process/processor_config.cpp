#include <array>

#include "process/processor_config_parser.h"

namespace sluice::process {
namespace {

using config::KeySpec;
using config::Kind;
using config::Node;
using config::Reader;
using config::Section;

const Section& input_section() {
  static const Section section{{
      {.name = "bucket", .description = "a declared bucket", .required = true},
      {.name = "prefix", .description = "key prefix of the objects it takes"},
      {.name = "suffix", .description = "key suffix of the objects it takes"},
      {.name = "format",
       .kind = Kind::kEnum,
       .description = "json is a JSON array",
       .default_value = "auto",
       .values = {"auto", "json", "jsonl", "csv"}},
      {.name = "schema",
       .kind = Kind::kScalarMap,
       .description = "the input's columns (column: DuckDB type), to check the steps before data arrives"},
  }};
  return section;
}

const Section& output_section() {
  static const Section section{{
      {.name = "bucket", .description = "a declared bucket; default: the input bucket"},
      {.name = "key", .description = "key template: {name}, {basename}, {date}", .required = true},
      {.name = "format",
       .kind = Kind::kEnum,
       .description = "the output's format",
       .default_value = "jsonl",
       .values = {"jsonl", "parquet", "csv"}},
  }};
  return section;
}

const Section& flatten_section() {
  static const Section section{{
      {.name = "separator", .description = "joins nested names", .default_value = "_"},
  }};
  return section;
}

// A step is a one-key mapping ({filter: "id < 5"}) or the bare word flatten.
const Section& step_section() {
  static const Section section{
      {
          {.name = "flatten",
           .kind = Kind::kMapping,
           .description = "nested objects become prefixed columns",
           .nullable = true,
           .section = &flatten_section()},
          {.name = "filter", .description = "keeps the rows where this SQL boolean expression is true"},
          {.name = "select", .kind = Kind::kNames, .description = "keeps these columns, in this order"},
          {.name = "rename", .kind = Kind::kScalarMap, .description = "old: new column names"},
          {.name = "cast", .kind = Kind::kScalarMap, .description = "column: DuckDB type"},
          {.name = "sql", .description = "SELECT ... FROM input (the previous step's result)"},
      },
      true};
  return section;
}

void parse_flatten(Reader& r, const Node& value, const std::string& p, Step& step) {
  step.kind = Step::Kind::kFlatten;
  if (value.is_map()) {
    r.check_keys(value, p, flatten_section());
    if (auto sep = r.string(value, flatten_section()["separator"], p)) step.separator = *sep;
  } else if (!value.is_null()) {
    r.error(value, p, "expected {separator: \"_\"} or nothing, got " + value.type_name());
  }
}

void parse_step(Reader& r, const Node& node, const std::string& path, Step& step) {
  if (node.is_scalar() && node.scalar() == "flatten") {
    step.kind = Step::Kind::kFlatten;
    return;
  }
  if (!node.is_map() || node.size() != 1) {
    r.error(node, path,
            "expected one of flatten, filter, select, rename, cast, sql as a one-key mapping, got " +
                node.type_name());
    return;
  }
  const auto [kind_node, value] = node.entries().front();
  const std::string kind = kind_node.scalar();
  const std::string p = Reader::child(path, kind);
  if (kind == "flatten") {
    parse_flatten(r, value, p, step);
  } else if (kind == "filter" || kind == "sql") {
    step.kind = kind == "filter" ? Step::Kind::kFilter : Step::Kind::kSql;
    if (!value.is_scalar() || value.scalar().empty()) {
      r.error(value, p,
              std::string("expected ") +
                  (kind == "filter" ? "a SQL boolean expression" : "a SELECT ... FROM input") + ", got " +
                  value.type_name());
    } else {
      step.expression = value.scalar();
    }
  } else if (kind == "select") {
    step.kind = Step::Kind::kSelect;
    step.columns = r.names_of(value, path + ".select");
    if (step.columns.empty()) r.error(value, p, "expected a list of column names");
  } else if (kind == "rename" || kind == "cast") {
    step.kind = kind == "rename" ? Step::Kind::kRename : Step::Kind::kCast;
    if (!value.is_map() || value.size() == 0) {
      r.error(value, p,
              std::string("expected a mapping of ") + (kind == "rename" ? "old: new names" : "column: TYPE") +
                  ", got " + value.type_name());
    } else {
      step.mapping = r.scalar_map_of(value, p);
    }
  } else {
    r.error(kind_node, p,
            "unknown step \"" + kind + "\"; expected flatten, filter, select, rename, cast or sql");
  }
}

void parse_input_schema(Reader& r, const Node& schema, const std::string& p, ProcessorConfig& proc) {
  if (!schema.is_map() || schema.size() == 0) {
    r.error(schema, p, "expected a mapping of column: DuckDB type, got " + schema.type_name());
    return;
  }
  for (const auto& [column, type] : schema.entries()) {
    if (!type.is_scalar() || type.scalar().empty()) {
      r.error(type, p + "." + column.scalar(), "expected a DuckDB type name");
      continue;
    }
    proc.input_schema.emplace_back(column.scalar(), type.scalar());
  }
}

void parse_input(Reader& r, const Node& node, const std::string& path, ProcessorConfig& proc) {
  const Node input = r.mapping(node, processor_section()["input"], path);
  if (!input) return;
  const Section& keys = input_section();
  const std::string p = path + ".input";
  if (const Node schema = input["schema"]) parse_input_schema(r, schema, p + ".schema", proc);
  if (auto b = r.string(input, keys["bucket"], p)) {
    proc.bucket = *b;
    r.check_bucket_declared(input["bucket"], p + ".bucket", *b);
  }
  if (auto v = r.string(input, keys["prefix"], p)) proc.prefix = *v;
  if (auto v = r.string(input, keys["suffix"], p)) proc.suffix = *v;
  if (auto f = r.choice(input, keys["format"], p))
    proc.input_format = std::array{InputFormat::kAuto, InputFormat::kJsonArray, InputFormat::kJsonLines,
                                   InputFormat::kCsv}[*f];
}

void parse_steps(Reader& r, const Node& node, const std::string& path, ProcessorConfig& proc,
                 StepLocations& locations) {
  const Node steps = node["steps"];
  if (!steps) return;
  if (!steps.is_sequence()) {
    r.error(steps, path + ".steps", "expected a list of steps, got " + steps.type_name());
    return;
  }
  for (size_t i = 0; i < steps.size(); ++i) {
    Step step;
    const std::string p = path + ".steps[" + std::to_string(i) + "]";
    const Node item = steps.at(i);
    parse_step(r, item, p, step);
    proc.steps.push_back(std::move(step));
    // A problem with a step's SQL points at its value (the SQL text), where there is one.
    const Node at = item.is_map() && item.size() == 1 ? item.entries().front().second : item;
    locations[proc.name + "/" + std::to_string(i)] =
        config::Diagnostic{r.file(), at.mark().line, at.mark().column, p, ""};
  }
}

// An output that the processor itself would take again would loop forever.
bool takes_its_own_output(const ProcessorConfig& proc, const std::string& key) {
  const std::string literal = key.substr(0, key.find('{'));
  return proc.output_bucket == proc.bucket && literal.rfind(proc.prefix, 0) == 0 &&
         (proc.suffix.empty() ||
          (key.size() >= proc.suffix.size() &&
           key.compare(key.size() - proc.suffix.size(), std::string::npos, proc.suffix) == 0));
}

void parse_output(Reader& r, const Node& node, const std::string& path, ProcessorConfig& proc) {
  proc.output_bucket = proc.bucket;
  const Node output = r.mapping(node, processor_section()["output"], path);
  if (!output) return;
  const Section& keys = output_section();
  const std::string p = path + ".output";
  if (auto b = r.string(output, keys["bucket"], p)) {
    proc.output_bucket = *b;
    r.check_bucket_declared(output["bucket"], p + ".bucket", *b);
  }
  if (auto k = r.string(output, keys["key"], p)) {
    proc.output_key = *k;
    if (auto why = validate_output_key(*k); !why.empty()) r.error(output["key"], p + ".key", why);
    if (takes_its_own_output(proc, *k)) {
      r.error(output["key"], p + ".key",
              "the output key starts with the input prefix \"" + proc.prefix +
                  "\": the processor would process its own output; write it under another prefix");
    }
  }
  if (auto f = r.choice(output, keys["format"], p))
    proc.output_format = std::array{OutputFormat::kJsonLines, OutputFormat::kParquet, OutputFormat::kCsv}[*f];
}

}  // namespace

const Section& processor_section() {
  static const Section section{{
      {.name = "input",
       .kind = Kind::kMapping,
       .description = "the objects it takes (S3 notification filters)",
       .required = true,
       .hint = "bucket, prefix, suffix",
       .section = &input_section()},
      {.name = "steps",
       .kind = Kind::kList,
       .description = "applied in order, each over the previous result",
       .items = {{.kind = Kind::kAnyOf,
                  .items = {{.kind = Kind::kEnum,
                             .description = "flatten with the default separator",
                             .values = {"flatten"}},
                            {.kind = Kind::kMapping, .section = &step_section()}}}}},
      {.name = "output",
       .kind = Kind::kMapping,
       .description = "the object it writes per input",
       .required = true,
       .hint = "key, format",
       .section = &output_section()},
      {.name = "error_prefix",
       .description = "where unprocessable input goes",
       .default_value = "errors/NAME/"},
  }};
  return section;
}

void parse_processor(Reader& r, const Reader::Entry& entry, ProcessorConfig& proc, StepLocations& locations) {
  const Node& node = entry.value;
  const std::string& path = entry.path;
  proc.name = entry.name;
  proc.error_prefix = "errors/" + entry.name + "/";
  if (!r.expect_map(node, path)) return;
  r.check_keys(node, path, processor_section());
  parse_input(r, node, path, proc);
  parse_steps(r, node, path, proc, locations);
  parse_output(r, node, path, proc);
  if (auto e = r.string(node, processor_section()["error_prefix"], path)) {
    proc.error_prefix = *e;
    if (!e->empty() && e->rfind(proc.prefix, 0) == 0 && !proc.prefix.empty())
      r.error(node["error_prefix"], path + ".error_prefix",
              "the error prefix must not be inside the input prefix");
  }
}

}  // namespace sluice::process
