#include "process/json_reader.h"

#include <algorithm>
#include <cstring>
#include <new>

#include "common/error.h"
#include "process/json_columns.h"

namespace sluice::process {

using namespace json;
namespace od = simdjson::ondemand;

namespace {

// JSON Lines are parsed this many bytes at a time (whole lines; a longer line is one window), so
// the parser's index stays small and only the last window needs a padded copy.
constexpr size_t kWindowBytes = size_t{8} << 20;
constexpr size_t kArenaBlock = size_t{1} << 20;
constexpr size_t kRowsBeforeEstimate = 4096;
// Nested values become nested DuckDB types, and both they and this reader recurse per level.
constexpr size_t kMaxDepth = 128;

// Copies of strings that had escapes (the input holds them escaped), in large blocks.
class Arena {
 public:
  const char* store(std::string_view text) {
    if (text.size() > left_) {
      const size_t size = std::max(kArenaBlock, text.size());
      blocks_.push_back(std::make_unique_for_overwrite<char[]>(size));
      next_ = blocks_.back().get();
      left_ = size;
    }
    if (!text.empty()) std::memcpy(next_, text.data(), text.size());
    const char* stored = next_;
    next_ += text.size();
    left_ -= text.size();
    return stored;
  }

 private:
  std::vector<std::unique_ptr<char[]>> blocks_;
  char* next_ = nullptr;
  size_t left_ = 0;
};

void make_text(ValueType& type) {
  type.kind = ValueType::Kind::kText;
  type.fields.clear();
  type.field_index.clear();
  type.element.reset();
}

void observe_boolean(ValueType& type) {
  if (type.kind == ValueType::Kind::kNull) type.kind = ValueType::Kind::kBoolean;
  if (type.kind != ValueType::Kind::kBoolean) make_text(type);
}

void observe_string(ValueType& type) {
  if (type.kind != ValueType::Kind::kText) make_text(type);
}

struct NumberFacts {
  bool integer = true;
  bool negative = false;
  bool above_int64 = false;
  bool inexact = false;
  bool unrepresentable = false;
};

void observe_number(ValueType& type, const NumberFacts& facts) {
  using Kind = ValueType::Kind;
  if (type.kind == Kind::kNull) {
    type.kind = facts.integer ? Kind::kInteger : Kind::kDouble;
  } else if (type.kind == Kind::kInteger) {
    if (!facts.integer) type.kind = Kind::kDouble;
  } else if (type.kind != Kind::kDouble) {
    make_text(type);
    return;
  }
  type.negative |= facts.negative;
  type.above_int64 |= facts.above_int64;
  type.inexact |= facts.inexact;
  type.unrepresentable |= facts.unrepresentable;
}

// True when the type holds objects (a struct) after seeing one.
bool observe_object(ValueType& type) {
  if (type.kind == ValueType::Kind::kNull) type.kind = ValueType::Kind::kStruct;
  if (type.kind != ValueType::Kind::kStruct) make_text(type);
  return type.kind == ValueType::Kind::kStruct;
}

// True when the type holds arrays (a list) after seeing one.
bool observe_array(ValueType& type) {
  if (type.kind == ValueType::Kind::kNull) {
    type.kind = ValueType::Kind::kList;
    type.element = std::make_unique<ValueType>();
  }
  if (type.kind != ValueType::Kind::kList) make_text(type);
  return type.kind == ValueType::Kind::kList;
}

// JSON's number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
bool is_json_number(std::string_view text, bool* integer) {
  size_t i = 0;
  auto digits = [&] {
    const size_t start = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
    return i > start;
  };
  if (i < text.size() && text[i] == '-') ++i;
  if (i < text.size() && text[i] == '0') {
    ++i;
  } else if (!digits()) {
    return false;
  }
  *integer = true;
  if (i < text.size() && text[i] == '.') {
    ++i;
    *integer = false;
    if (!digits()) return false;
  }
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    *integer = false;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) ++i;
    if (!digits()) return false;
  }
  return i == text.size();
}

}  // namespace

struct JsonRecords::State {
  std::unique_ptr<simdjson::padded_string> padded;  // a JSON array's padded copy (views point into it)
  Arena arena;
  Node root;
  std::vector<std::unique_ptr<ColumnData>> columns;  // creation order
  NameIndex lower_names;                             // flattening: lower-cased column name -> column
  size_t records = 0;
  std::vector<OutputColumn> order;           // the columns DuckDB gets, in source key order
  std::unique_ptr<sql::ChunkSource> source;  // once registered as a table function
};

namespace {

// One pass over the records: finds or adds each key's column, widens its type, keeps the value.
class Reader {
 public:
  Reader(JsonRecords::State& state, const JsonReadOptions& options, std::string_view input)
      : state_(state), options_(options), flatten_(options.flatten_separator.has_value()), input_(input) {}

  void read_array();
  void read_lines();
  void finish();

 private:
  class Level;
  [[noreturn]] void fail(const std::string& what) const;
  void check(simdjson::error_code error) const {
    if (error == simdjson::MEMALLOC) throw std::bad_alloc();
    if (error) fail(std::string("not valid JSON (") + simdjson::error_message(error) + ")");
  }
  const char* map(const char* window_pointer) const { return base_ + (window_pointer - window_); }
  simdjson::simdjson_result<const char*> location() {
    return document_ ? document_->current_location() : reference_->current_location();
  }

  void read_record(od::value record);
  void estimate_rows();
  template <typename T>
  void reserve(std::vector<T>& cells) const;
  void read_fields(od::object object, Node& node);
  void read_object(od::value value, Node& node, size_t child);
  size_t add_child(Node& node, std::string_view key);
  ColumnData& column_for(Node& node, size_t child);
  void store(ColumnData& column, od::value value, od::json_type json_type);
  void walk(od::value value, ValueType* type, od::json_type json_type);
  void walk_object(od::object object, ValueType* type);
  size_t add_field(ValueType& type, std::string_view key);
  NumberFacts classify_number(od::value value, std::string_view token);
  void check_key(std::string_view key, const std::string& path) const;
  std::string nested_path() const;
  std::vector<OutputColumn> output_columns(const Node& node) const;

  JsonRecords::State& state_;
  const JsonReadOptions& options_;
  const bool flatten_;
  std::string_view input_;      // the whole input, for line numbers
  const char* base_ = nullptr;  // where the parsed window's bytes live in the kept text
  const char* window_ = nullptr;
  size_t row_ = 0;
  size_t expected_rows_ = 0;  // estimated from the first records, to size the cell vectors
  size_t record_offset_ = 0;  // byte offset of the record in the input (JSON Lines)
  uint64_t object_instances_ = 0;
  std::vector<std::string_view> path_;  // keys down to the value being walked
  od::document* document_ = nullptr;
  od::document_reference* reference_ = nullptr;
  od::parser parser_;
  size_t depth_ = 0;  // objects and arrays entered, down to the value being read
};

// Counts one level of nesting while it lives; deeper than kMaxDepth is an error (simdjson's
// on-demand parser does not limit depth itself).
class Reader::Level {
 public:
  explicit Level(Reader& reader) : reader_(reader) {
    if (++reader_.depth_ > kMaxDepth)
      reader_.fail("values nest deeper than " + std::to_string(kMaxDepth) + " levels");
  }
  ~Level() { --reader_.depth_; }
  Level(const Level&) = delete;
  Level& operator=(const Level&) = delete;

 private:
  Reader& reader_;
};

void Reader::fail(const std::string& what) const {
  std::string where;
  if (options_.json_lines) {
    const auto end = input_.begin() + static_cast<std::ptrdiff_t>(std::min(record_offset_, input_.size()));
    where = "line " + std::to_string(1 + std::count(input_.begin(), end, '\n'));
  } else {
    where = "record " + std::to_string(row_ + 1);
  }
  throw Error(where + ": " + what);
}

void Reader::read_array() {
  state_.padded = std::make_unique<simdjson::padded_string>(input_);
  base_ = window_ = state_.padded->data();
  od::document document;
  check(parser_.iterate(*state_.padded).get(document));
  document_ = &document;
  od::array records;
  if (document.get_array().get(records)) fail("the input is not a JSON array");
  for (auto element : records) {
    if (row_ >= options_.max_records) return;
    od::value record;
    check(element.get(record));
    read_record(record);
  }
  if (document.current_location().error() == simdjson::SUCCESS)
    fail("unexpected content after the JSON array");
}

void Reader::read_lines() {
  std::vector<char> window;
  base_ = input_.data();
  size_t position = 0;
  while (position < input_.size() && row_ < options_.max_records) {
    size_t end = std::min(position + kWindowBytes, input_.size());
    if (end < input_.size()) {
      // Whole lines only: back to the last newline, or on to the next one for a longer line.
      const auto newline = input_.rfind('\n', end - 1);
      if (newline != std::string_view::npos && newline >= position) {
        end = newline + 1;
      } else {
        const auto next = input_.find('\n', end);
        end = next == std::string_view::npos ? input_.size() : next + 1;
      }
    }
    const size_t length = end - position;
    base_ = input_.data() + position;
    if (input_.size() - end >= simdjson::SIMDJSON_PADDING) {
      // The rest of the input is the padding simdjson may read past the window (which ends at a
      // newline, so no token runs into it): parsed where it is.
      window_ = base_;
    } else {
      window.resize(length + simdjson::SIMDJSON_PADDING);
      std::memcpy(window.data(), base_, length);
      std::memset(window.data() + length, ' ', simdjson::SIMDJSON_PADDING);
      window_ = window.data();
    }
    od::document_stream stream;
    record_offset_ = position;
    check(parser_.iterate_many(window_, length, std::max<size_t>(length, 64)).get(stream));
    for (auto it = stream.begin(); it != stream.end() && row_ < options_.max_records; ++it) {
      record_offset_ = position + it.current_index();
      od::document_reference document;
      check((*it).get(document));
      reference_ = &document;
      od::value record;
      if (document.get_value().get(record)) fail("not a JSON object");
      read_record(record);
      reference_ = nullptr;
    }
    if (row_ < options_.max_records && stream.truncated_bytes() > 0) {
      record_offset_ = end - stream.truncated_bytes();
      fail("not valid JSON (an incomplete value)");
    }
    position = end;
  }
}

void Reader::read_record(od::value record) {
  od::json_type json_type = od::json_type::null;
  check(record.type().get(json_type));
  if (json_type != od::json_type::object) fail("not a JSON object");
  od::object object;
  check(record.get_object().get(object));
  read_fields(object, state_.root);
  if (++row_ == kRowsBeforeEstimate) estimate_rows();
}

template <typename T>
void Reader::reserve(std::vector<T>& cells) const {
  if (expected_rows_ <= cells.capacity()) return;
  cells.reserve(expected_rows_);
}

void Reader::estimate_rows() {
  // Sized once from the first records, the cell vectors are not copied again as they grow.
  size_t consumed = record_offset_;
  if (document_) {
    const char* at = nullptr;
    if (document_->current_location().get(at)) return;
    consumed = static_cast<size_t>(at - window_);
  }
  if (consumed == 0) return;
  const double rows =
      static_cast<double>(row_) * static_cast<double>(input_.size()) / static_cast<double>(consumed);
  expected_rows_ = std::min(static_cast<size_t>(rows * 1.05) + 1, options_.max_records);
  for (auto& column : state_.columns) reserve(column->cells);
  std::function<void(Node&)> visit = [&](Node& node) {
    for (auto& child : node.children) {
      if (!child.object) continue;
      if (!flatten_) reserve(child.object->spans);
      visit(*child.object);
    }
  };
  visit(state_.root);
}

void Reader::read_fields(od::object object, Node& node) {
  size_t hint = 0;  // records mostly repeat the key order: try the next known key first
  for (auto field_result : object) {
    od::field field;
    check(std::move(field_result).get(field));
    size_t child;
    if (hint < node.children.size() && node.children[hint].plain &&
        field.key().unsafe_is_equal(node.children[hint].key)) {
      child = hint;
    } else {
      std::string_view key;
      check(field.unescaped_key().get(key));
      const auto found = node.index.find(key);
      child = found != node.index.end() ? found->second : add_child(node, key);
    }
    hint = child + 1;
    od::value value = field.value();
    od::json_type json_type = od::json_type::null;
    check(value.type().get(json_type));
    if (json_type == od::json_type::object) {
      read_object(value, node, child);
    } else {
      store(column_for(node, child), value, json_type);
    }
  }
}

// An object is read key by key into the columns under its path (flattened, or a struct's fields);
// when not flattening its text is kept too, for a path that also holds other values.
void Reader::read_object(od::value value, Node& node, size_t child) {
  const Level level(*this);
  if (!node.children[child].object) {
    auto inner = std::make_unique<Node>();
    if (flatten_)
      inner->name_prefix = node.name_prefix + node.children[child].key + *options_.flatten_separator;
    inner->path_prefix = node.path_prefix + node.children[child].key + ".";
    reserve(inner->spans);
    node.children[child].object = std::move(inner);
  }
  Node& inner = *node.children[child].object;
  const char* start = value.raw_json_token().data();
  if (!flatten_) {
    if (inner.spans.size() > row_) {
      fail("key " + printable(inner.path_prefix.substr(0, inner.path_prefix.size() - 1)) +
           " appears twice in one object");
    }
    inner.spans.resize(row_);
  }
  od::object object;
  check(value.get_object().get(object));
  read_fields(object, inner);
  if (!flatten_) {
    const char* end = nullptr;
    check(location().get(end));
    const std::string_view text = trim_right(std::string_view(start, static_cast<size_t>(end - start)));
    if (text.size() > UINT32_MAX)
      fail("an object of " + printable(inner.path_prefix) + " is larger than 4 GiB");
    inner.spans.push_back(Cell{map(text.data()), static_cast<uint32_t>(text.size()), CellKind::kNested});
  }
}

size_t Reader::add_child(Node& node, std::string_view key) {
  const std::string path = node.path_prefix + std::string(key);
  check_key(key, path);
  if (!flatten_) {
    // Each key is a column (a struct field below the top): DuckDB ignores case in their names.
    const auto [other, added] = node.lower_index.emplace(lower_ascii(key), node.children.size());
    if (!added) {
      const std::string& other_key = node.children[other->second].key;
      fail(printable(node.path_prefix + other_key) + " and " + printable(path) +
           (node.path_prefix.empty() ? " both become column " + printable(other_key)
                                     : " are one struct field") +
           " (DuckDB names ignore case)");
    }
  }
  Node::Child child{.key = std::string(key)};
  child.plain = std::none_of(key.begin(), key.end(), [](unsigned char c) { return c == '"' || c == '\\'; });
  node.children.push_back(std::move(child));
  node.index.emplace(key, node.children.size() - 1);
  return node.children.size() - 1;
}

ColumnData& Reader::column_for(Node& node, size_t child_index) {
  Node::Child& child = node.children[child_index];
  if (child.column < 0) {
    auto column = std::make_unique<ColumnData>();
    column->name = node.name_prefix + child.key;
    column->path = node.path_prefix + child.key;
    // Flattened, paths become names: two that differ at most in case would be one column.
    const auto [it, added] =
        flatten_ ? state_.lower_names.emplace(lower_ascii(column->name), state_.columns.size())
                 : std::make_pair(state_.lower_names.end(), true);
    if (!added) {
      const ColumnData& other = *state_.columns[it->second];
      fail(printable(other.path) + " and " + printable(column->path) + " both become column " +
           printable(other.name) + (other.name == column->name ? "" : " (DuckDB column names ignore case)"));
    }
    reserve(column->cells);
    child.column = static_cast<int>(state_.columns.size());
    state_.columns.push_back(std::move(column));
  }
  return *state_.columns[static_cast<size_t>(child.column)];
}

void Reader::store(ColumnData& column, od::value value, od::json_type json_type) {
  auto& cells = column.cells;
  if (cells.size() > row_) fail("key " + printable(column.path) + " appears twice in one record");
  if (cells.size() < row_) cells.resize(row_);
  Cell cell;
  switch (json_type) {
    case od::json_type::null: {
      bool is_null = false;
      check(value.is_null().get(is_null));
      if (!is_null) check(simdjson::N_ATOM_ERROR);
      break;
    }
    case od::json_type::boolean: {
      bool flag = false;
      check(value.get_bool().get(flag));
      cell.kind = flag ? CellKind::kTrue : CellKind::kFalse;
      observe_boolean(column.type);
      break;
    }
    case od::json_type::number: {
      std::string_view token = value.raw_json_token();
      token = trim_right(token);
      observe_number(column.type, classify_number(value, token));
      cell = Cell{map(token.data()), static_cast<uint32_t>(token.size()), CellKind::kNumber};
      break;
    }
    case od::json_type::string: {
      std::string_view token = value.raw_json_token();
      token = trim_right(token);
      const std::string_view content = token.substr(1, token.size() - 2);
      if (std::memchr(content.data(), '\\', content.size())) {
        std::string_view unescaped;
        check(value.get_string().get(unescaped));
        cell =
            Cell{state_.arena.store(unescaped), static_cast<uint32_t>(unescaped.size()), CellKind::kString};
      } else {
        cell = Cell{map(content.data()), static_cast<uint32_t>(content.size()), CellKind::kString};
      }
      observe_string(column.type);
      break;
    }
    case od::json_type::object:  // read_object's
    case od::json_type::array: {
      const std::string_view token = value.raw_json_token();
      path_.assign({column.path});
      walk(value, &column.type, json_type);
      const char* end = nullptr;
      check(location().get(end));
      const std::string_view text =
          trim_right(std::string_view(token.data(), static_cast<size_t>(end - token.data())));
      if (text.size() > UINT32_MAX) fail("the value of " + printable(column.path) + " is larger than 4 GiB");
      cell = Cell{map(text.data()), static_cast<uint32_t>(text.size()), CellKind::kNested};
      break;
    }
  }
  cells.push_back(cell);
}

NumberFacts Reader::classify_number(od::value value, std::string_view token) {
  NumberFacts facts;
  od::number number;
  if (value.get_number().get(number) == simdjson::SUCCESS) {
    switch (number.get_number_type()) {
      case od::number_type::signed_integer: {
        const int64_t v = number.get_int64();
        facts.negative = v < 0;
        facts.inexact = v > (int64_t{1} << 53) || v < -(int64_t{1} << 53);
        break;
      }
      case od::number_type::unsigned_integer:
        facts.above_int64 = facts.inexact = true;
        break;
      case od::number_type::floating_point_number:
        facts.integer = false;
        break;
    }
    return facts;
  }
  // simdjson refuses integers beyond 64 bits and numbers beyond DOUBLE's range: valid JSON whose
  // exact value only its text keeps.
  if (!is_json_number(token, &facts.integer))
    fail("not valid JSON (a malformed number " + printable(token) + ")");
  facts.negative = token.front() == '-';
  facts.unrepresentable = facts.inexact = true;
  return facts;
}

void Reader::walk(od::value value, ValueType* type, od::json_type json_type) {
  switch (json_type) {
    case od::json_type::object: {
      const Level level(*this);
      od::object object;
      check(value.get_object().get(object));
      walk_object(object, type && observe_object(*type) ? type : nullptr);
      return;
    }
    case od::json_type::array: {
      const Level level(*this);
      od::array array;
      check(value.get_array().get(array));
      ValueType* element = type && observe_array(*type) ? type->element.get() : nullptr;
      path_.push_back("[]");
      for (auto item : array) {
        od::value item_value;
        check(item.get(item_value));
        od::json_type item_type = od::json_type::null;
        check(item_value.type().get(item_type));
        walk(item_value, element, item_type);
      }
      path_.pop_back();
      return;
    }
    case od::json_type::number: {
      std::string_view token = value.raw_json_token();
      const NumberFacts facts = classify_number(value, trim_right(token));
      if (type) observe_number(*type, facts);
      return;
    }
    case od::json_type::string: {
      std::string_view text;
      check(value.get_string().get(text));  // validates the escapes
      if (type) observe_string(*type);
      return;
    }
    case od::json_type::boolean: {
      bool flag = false;
      check(value.get_bool().get(flag));
      if (type) observe_boolean(*type);
      return;
    }
    case od::json_type::null: {
      bool is_null = false;
      check(value.is_null().get(is_null));
      if (!is_null) check(simdjson::N_ATOM_ERROR);
      return;
    }
  }
}

void Reader::walk_object(od::object object, ValueType* type) {
  const uint64_t instance = ++object_instances_;
  for (auto field_result : object) {
    od::field field;
    check(std::move(field_result).get(field));
    std::string_view key;
    check(field.unescaped_key().get(key));
    path_.push_back(key);
    ValueType* field_type = nullptr;
    if (type) {
      const auto found = type->field_index.find(key);
      const size_t index = found != type->field_index.end() ? found->second : add_field(*type, key);
      ValueType::Field& entry = type->fields[index];
      if (entry.seen_in == instance) fail("key " + printable(nested_path()) + " appears twice in one object");
      entry.seen_in = instance;
      field_type = entry.type.get();
    }
    od::value value = field.value();
    od::json_type json_type = od::json_type::null;
    check(value.type().get(json_type));
    walk(value, field_type, json_type);
    path_.pop_back();
  }
}

size_t Reader::add_field(ValueType& type, std::string_view key) {
  const std::string path = nested_path();
  check_key(key, path);
  const std::string lower = lower_ascii(key);
  for (const auto& field : type.fields) {
    if (lower_ascii(field.name) == lower) {
      std::string other = path.substr(0, path.size() - key.size()) + field.name;
      fail(printable(other) + " and " + printable(path) +
           " are one struct field (DuckDB field names ignore case)");
    }
  }
  type.fields.push_back({std::string(key), std::make_unique<ValueType>(), 0});
  type.field_index.emplace(key, type.fields.size() - 1);
  return type.fields.size() - 1;
}

void Reader::check_key(std::string_view key, const std::string& path) const {
  if (key.empty()) fail("empty key at " + printable(path) + "; an empty name cannot be a column or field");
  for (unsigned char c : key)
    if (c < 0x20 || c == 0x7f) fail("key " + printable(path) + " contains a control character");
}

std::string Reader::nested_path() const {
  std::string out;
  for (size_t i = 0; i < path_.size(); ++i) {
    if (i && path_[i] != "[]") out += '.';
    out += path_[i];
  }
  return out;
}

void Reader::finish() {
  state_.records = row_;
  for (auto& column : state_.columns) column->cells.resize(row_);
  std::function<void(Node&)> pad = [&](Node& node) {
    for (auto& child : node.children) {
      if (!child.object) continue;
      if (!flatten_) child.object->spans.resize(row_);
      pad(*child.object);
    }
  };
  pad(state_.root);
  state_.order = output_columns(state_.root);
}

// The columns under `node`, in the order their keys first appeared.
std::vector<OutputColumn> Reader::output_columns(const Node& node) const {
  std::vector<OutputColumn> out;
  for (const auto& child : node.children) {
    const ColumnData* values =
        child.column >= 0 ? state_.columns[static_cast<size_t>(child.column)].get() : nullptr;
    // Nulls where other records hold objects add nothing of their own.
    const bool only_nulls = values && values->type.kind == ValueType::Kind::kNull;
    if (flatten_) {
      if (values && !(child.object && only_nulls)) out.push_back({.name = values->name, .values = values});
      if (child.object) {
        auto inner = output_columns(*child.object);
        std::move(inner.begin(), inner.end(), std::back_inserter(out));
      }
    } else if (!child.object) {
      out.push_back({.name = child.key, .values = values});
    } else if ((!values || only_nulls) && !child.object->children.empty()) {
      out.push_back({.kind = OutputColumn::Kind::kStruct,
                     .name = child.key,
                     .object = child.object.get(),
                     .fields = output_columns(*child.object)});
    } else {
      // Objects and other values at one key (or only empty objects): each value's text.
      out.push_back({.kind = OutputColumn::Kind::kMixed,
                     .name = child.key,
                     .values = values,
                     .object = child.object.get()});
    }
  }
  return out;
}

// The records as DuckDB scans them: vectors filled from the cells, a chunk at a time.
class RecordSource : public sql::ChunkSource {
 public:
  explicit RecordSource(const JsonRecords::State& state) : state_(state) {}
  size_t row_count() const override { return state_.records; }
  void fill(duckdb_data_chunk chunk, const std::vector<idx_t>& columns, size_t first, size_t count) override {
    for (size_t i = 0; i < columns.size(); ++i)
      filler_.fill(duckdb_data_chunk_get_vector(chunk, i), state_.order[columns[i]], first, count);
  }

 private:
  const JsonRecords::State& state_;
  Filler filler_;
};

}  // namespace

JsonRecords::JsonRecords(std::unique_ptr<State> state) : state_(std::move(state)) {}
JsonRecords::JsonRecords(JsonRecords&&) noexcept = default;
JsonRecords& JsonRecords::operator=(JsonRecords&&) noexcept = default;
JsonRecords::~JsonRecords() = default;

JsonRecords JsonRecords::read(std::string_view json, const JsonReadOptions& options) {
  auto state = std::make_unique<State>();
  Reader reader(*state, options, json);
  if (options.json_lines)
    reader.read_lines();
  else
    reader.read_array();
  reader.finish();
  return JsonRecords(std::move(state));
}

size_t JsonRecords::record_count() const { return state_->records; }

std::vector<sql::Column> JsonRecords::columns() const {
  std::vector<sql::Column> columns;
  for (const auto& column : state_->order) columns.push_back(describe(column));
  return columns;
}

void JsonRecords::register_table_function(sql::Session& session, const std::string& name) {
  std::vector<sql::SourceColumn> columns;
  for (const auto& column : state_->order) columns.push_back({column.name, logical_type(column)});
  state_->source = std::make_unique<RecordSource>(*state_);
  sql::register_table_function(session, name, std::move(columns), *state_->source);
}

bool JsonRecords::failed_for_system() const { return state_->source && state_->source->failed_for_system(); }

}  // namespace sluice::process
