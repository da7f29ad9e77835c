#include "process/jsonl_writer.h"

#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <memory>

namespace sluice::process {
namespace {}  // namespace

// The output: written through a cursor into a small block that is appended to the result string
// when full, so that the result is neither zero-filled nor copied as it grows (it is reserved for
// the expected size up front).
class JsonLinesWriter::Buffer {
 public:
  explicit Buffer(size_t expected_bytes) { text_.reserve(expected_bytes); }
  char* reserve(size_t n) {
    if (n > static_cast<size_t>(end_ - next_)) grow(n);
    return next_;
  }
  void commit(size_t n) { next_ += n; }
  void put(char c) {
    *reserve(1) = c;
    commit(1);
  }
  void append(std::string_view piece) {
    std::memcpy(reserve(piece.size()), piece.data(), piece.size());
    commit(piece.size());
  }
  std::string take() {
    flush();
    // Reserved for the expected size: give back what a filter left unused (a copy, of little).
    if (text_.size() < text_.capacity() / 2) text_.shrink_to_fit();
    return std::move(text_);
  }

 private:
  static constexpr size_t kBlockBytes = size_t{1} << 20;
  void flush() {
    if (block_) text_.append(block_.get(), static_cast<size_t>(next_ - block_.get()));
    next_ = block_.get();
  }
  void grow(size_t n) {
    flush();
    if (!block_ || n > block_size_) {
      block_size_ = std::max(kBlockBytes, n);
      block_ = std::make_unique_for_overwrite<char[]>(block_size_);
    }
    next_ = block_.get();
    end_ = next_ + block_size_;
  }
  std::string text_;
  std::unique_ptr<char[]> block_;
  size_t block_size_ = 0;
  char* next_ = nullptr;
  char* end_ = nullptr;
};

namespace {

using Out = JsonLinesWriter::Buffer;

// 0: as is; otherwise the character after the backslash ('u' for \u00XX).
constexpr auto kEscapes = [] {
  std::array<char, 256> table{};
  for (int c = 0; c < 0x20; ++c) table[c] = 'u';
  table['\b'] = 'b';
  table['\f'] = 'f';
  table['\n'] = 'n';
  table['\r'] = 'r';
  table['\t'] = 't';
  table['"'] = '"';
  table['\\'] = '\\';
  return table;
}();

void write_string(Out& out, const char* data, size_t size) {
  char* p = out.reserve(size * 6 + 2);
  char* const start = p;
  *p++ = '"';
  size_t run = 0;  // start of the bytes not copied yet
  for (size_t i = 0; i < size; ++i) {
    const char escape = kEscapes[static_cast<unsigned char>(data[i])];
    if (!escape) continue;
    std::memcpy(p, data + run, i - run);
    p += i - run;
    run = i + 1;
    *p++ = '\\';
    *p++ = escape;
    if (escape == 'u') {
      static constexpr char kHex[] = "0123456789abcdef";
      const auto c = static_cast<unsigned char>(data[i]);
      *p++ = '0';
      *p++ = '0';
      *p++ = kHex[c >> 4];
      *p++ = kHex[c & 15];
    }
  }
  std::memcpy(p, data + run, size - run);
  p += size - run;
  *p++ = '"';
  out.commit(static_cast<size_t>(p - start));
}

template <typename T>
void write_integer(Out& out, T value) {
  char* p = out.reserve(24);
  out.commit(static_cast<size_t>(std::to_chars(p, p + 24, value).ptr - p));
}

void write_int128(Out& out, unsigned __int128 magnitude, bool negative) {
  char digits[48];
  char* end = digits + sizeof digits;
  char* p = end;
  do {
    *--p = static_cast<char>('0' + static_cast<int>(magnitude % 10));
    magnitude /= 10;
  } while (magnitude);
  if (negative) *--p = '-';
  out.append(std::string_view(p, static_cast<size_t>(end - p)));
}

void write_double(Out& out, double value) {
  if (std::isnan(value)) return out.append("NaN");
  if (std::isinf(value)) return out.append(value < 0 ? "-Infinity" : "Infinity");
  char* p = out.reserve(40);
  const char* end = std::to_chars(p, p + 32, value).ptr;
  std::string_view text(p, static_cast<size_t>(end - p));
  const auto e = text.find('e');
  if (e == std::string_view::npos) {
    size_t size = text.size();
    if (text.find('.') == std::string_view::npos) {
      p[size++] = '.';
      p[size++] = '0';
    }
    return out.commit(size);
  }
  // 1e+16 -> 1e16, 1e-07 -> 1e-7, as DuckDB writes exponents.
  size_t size = e + 1;
  size_t i = e + 1;
  if (text[i] == '+') {
    ++i;
  } else if (text[i] == '-') {
    p[size++] = '-';
    ++i;
  }
  while (i + 1 < text.size() && text[i] == '0') ++i;
  while (i < text.size()) p[size++] = text[i++];
  out.commit(size);
}

// A vector's memory for one chunk, with its children's.
struct View {
  void* data = nullptr;
  uint64_t* validity = nullptr;
  std::vector<View> children;
};

View view_of(duckdb_vector vector, const JsonLinesWriter::Column& column) {
  View view{duckdb_vector_get_data(vector), duckdb_vector_get_validity(vector), {}};
  if (column.id == DUCKDB_TYPE_LIST) {
    view.children.push_back(view_of(duckdb_list_vector_get_child(vector), column.children[0]));
  } else if (column.id == DUCKDB_TYPE_STRUCT) {
    for (size_t i = 0; i < column.children.size(); ++i)
      view.children.push_back(view_of(duckdb_struct_vector_get_child(vector, i), column.children[i]));
  }
  return view;
}

void write_value(Out& out, const View& view, idx_t row, const JsonLinesWriter::Column& column) {
  if (view.validity && !((view.validity[row / 64] >> (row % 64)) & 1)) return out.append("null");
  const void* data = view.data;
  switch (column.id) {
    case DUCKDB_TYPE_BOOLEAN:
      return out.append(static_cast<const bool*>(data)[row] ? "true" : "false");
    case DUCKDB_TYPE_TINYINT:
      return write_integer(out, static_cast<const int8_t*>(data)[row]);
    case DUCKDB_TYPE_SMALLINT:
      return write_integer(out, static_cast<const int16_t*>(data)[row]);
    case DUCKDB_TYPE_INTEGER:
      return write_integer(out, static_cast<const int32_t*>(data)[row]);
    case DUCKDB_TYPE_BIGINT:
      return write_integer(out, static_cast<const int64_t*>(data)[row]);
    case DUCKDB_TYPE_UTINYINT:
      return write_integer(out, static_cast<const uint8_t*>(data)[row]);
    case DUCKDB_TYPE_USMALLINT:
      return write_integer(out, static_cast<const uint16_t*>(data)[row]);
    case DUCKDB_TYPE_UINTEGER:
      return write_integer(out, static_cast<const uint32_t*>(data)[row]);
    case DUCKDB_TYPE_UBIGINT:
      return write_integer(out, static_cast<const uint64_t*>(data)[row]);
    case DUCKDB_TYPE_HUGEINT: {
      const auto& v = static_cast<const duckdb_hugeint*>(data)[row];
      const __int128 value = (static_cast<__int128>(v.upper) << 64) | v.lower;
      const bool negative = value < 0;
      return write_int128(out, negative ? -static_cast<unsigned __int128>(value) : value, negative);
    }
    case DUCKDB_TYPE_UHUGEINT: {
      const auto& v = static_cast<const duckdb_uhugeint*>(data)[row];
      return write_int128(out, (static_cast<unsigned __int128>(v.upper) << 64) | v.lower, false);
    }
    case DUCKDB_TYPE_FLOAT:
      return write_double(out, static_cast<const float*>(data)[row]);
    case DUCKDB_TYPE_DOUBLE:
      return write_double(out, static_cast<const double*>(data)[row]);
    case DUCKDB_TYPE_VARCHAR: {
      const auto& s = static_cast<const duckdb_string_t*>(data)[row];
      const uint32_t size = s.value.inlined.length;
      return write_string(out, size <= 12 ? s.value.inlined.inlined : s.value.pointer.ptr, size);
    }
    case DUCKDB_TYPE_LIST: {
      const auto& entry = static_cast<const duckdb_list_entry*>(data)[row];
      out.put('[');
      for (uint64_t i = 0; i < entry.length; ++i) {
        if (i) out.put(',');
        write_value(out, view.children[0], entry.offset + i, column.children[0]);
      }
      return out.put(']');
    }
    case DUCKDB_TYPE_STRUCT:
      out.put('{');
      for (size_t i = 0; i < column.children.size(); ++i) {
        out.append(column.children[i].key);
        write_value(out, view.children[i], row, column.children[i]);
      }
      return out.put('}');
    default:
      return out.append("null");  // not reached: supports() refuses other types
  }
}

bool supported(duckdb_logical_type type) {
  char* alias = duckdb_logical_type_get_alias(type);
  const bool aliased = alias != nullptr;  // JSON and other aliases render differently
  duckdb_free(alias);
  if (aliased) return false;
  const duckdb_type id = duckdb_get_type_id(type);
  switch (id) {
    case DUCKDB_TYPE_BOOLEAN:
    case DUCKDB_TYPE_TINYINT:
    case DUCKDB_TYPE_SMALLINT:
    case DUCKDB_TYPE_INTEGER:
    case DUCKDB_TYPE_BIGINT:
    case DUCKDB_TYPE_UTINYINT:
    case DUCKDB_TYPE_USMALLINT:
    case DUCKDB_TYPE_UINTEGER:
    case DUCKDB_TYPE_UBIGINT:
    case DUCKDB_TYPE_HUGEINT:
    case DUCKDB_TYPE_UHUGEINT:
    case DUCKDB_TYPE_FLOAT:
    case DUCKDB_TYPE_DOUBLE:
    case DUCKDB_TYPE_VARCHAR:
      return true;
    case DUCKDB_TYPE_LIST: {
      sql::LogicalType child(duckdb_list_type_child_type(type));
      return supported(child.get());
    }
    case DUCKDB_TYPE_STRUCT: {
      for (idx_t i = 0; i < duckdb_struct_type_child_count(type); ++i) {
        sql::LogicalType child(duckdb_struct_type_child_type(type, i));
        if (!supported(child.get())) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

std::string key_of(std::string_view name, bool first) {
  Out out(0);
  if (!first) out.put(',');
  write_string(out, name.data(), name.size());
  out.put(':');
  return out.take();
}

JsonLinesWriter::Column column_of(duckdb_logical_type type, std::string_view name, bool first) {
  JsonLinesWriter::Column column{duckdb_get_type_id(type), key_of(name, first), {}};
  if (column.id == DUCKDB_TYPE_LIST) {
    sql::LogicalType child(duckdb_list_type_child_type(type));
    column.children.push_back(column_of(child.get(), "", true));
  } else if (column.id == DUCKDB_TYPE_STRUCT) {
    for (idx_t i = 0; i < duckdb_struct_type_child_count(type); ++i) {
      sql::LogicalType child(duckdb_struct_type_child_type(type, i));
      char* child_name = duckdb_struct_type_child_name(type, i);
      column.children.push_back(column_of(child.get(), child_name ? child_name : "", i == 0));
      duckdb_free(child_name);
    }
  }
  return column;
}

}  // namespace

bool JsonLinesWriter::supports(const sql::ResultStream& stream) {
  for (size_t c = 0; c < stream.column_count(); ++c)
    if (!supported(stream.column_type(c).get())) return false;
  return true;
}

JsonLinesWriter::JsonLinesWriter(const sql::ResultStream& stream, size_t expected_bytes)
    : buffer_(std::make_unique<Buffer>(expected_bytes)) {
  for (size_t c = 0; c < stream.column_count(); ++c)
    columns_.push_back(column_of(stream.column_type(c).get(), stream.column_name(c), c == 0));
}

void JsonLinesWriter::write(duckdb_data_chunk chunk) {
  std::vector<View> views;
  for (size_t c = 0; c < columns_.size(); ++c)
    views.push_back(view_of(duckdb_data_chunk_get_vector(chunk, c), columns_[c]));
  Out& out = *buffer_;
  const idx_t rows = duckdb_data_chunk_get_size(chunk);
  for (idx_t row = 0; row < rows; ++row) {
    out.put('{');
    for (size_t c = 0; c < columns_.size(); ++c) {
      out.append(columns_[c].key);
      write_value(out, views[c], row, columns_[c]);
    }
    out.append("}\n");
  }
  rows_ += rows;
}

JsonLinesWriter::~JsonLinesWriter() = default;

std::string JsonLinesWriter::take() { return buffer_->take(); }

}  // namespace sluice::process
