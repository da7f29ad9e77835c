// DuckDB vectors filled from the reader's columns (json_columns.h).
#include <charconv>
#include <cstring>
#include <new>

#include "common/error.h"
#include "process/json_columns.h"

namespace sluice::process::json {
namespace {

namespace od = simdjson::ondemand;

void put_string(duckdb_string_t& slot, const char* data, uint32_t size) {
  if (size <= 12) {
    slot.value.inlined.length = size;
    std::memset(slot.value.inlined.inlined, 0, sizeof slot.value.inlined.inlined);
    if (size) std::memcpy(slot.value.inlined.inlined, data, size);
  } else {
    slot.value.pointer.length = size;
    std::memcpy(slot.value.pointer.prefix, data, sizeof slot.value.pointer.prefix);
    // DuckDB reads it where it is: the cells' text outlives every query over the records.
    slot.value.pointer.ptr = const_cast<char*>(data);
  }
}

template <typename T>
T parse_number(const Cell& cell) {
  T value{};
  const auto [end, error] = std::from_chars(cell.data, cell.data + cell.size, value);
  if (error != std::errc() || end != cell.data + cell.size)
    throw Error("cannot read the number " + std::string(cell.data, cell.size) + " as its column's type");
  return value;
}

void set_invalid(duckdb_vector vector, idx_t row) {
  duckdb_vector_ensure_validity_writable(vector);
  duckdb_validity_set_row_invalid(duckdb_vector_get_validity(vector), row);
}

// NULL at `row`, with the struct fields under it NULL too, as DuckDB expects.
void set_null(duckdb_vector vector, idx_t row, const ValueType& type) {
  set_invalid(vector, row);
  const Storage storage = storage_of(type);
  if (storage == Storage::kStruct) {
    for (size_t i = 0; i < type.fields.size(); ++i)
      set_null(duckdb_struct_vector_get_child(vector, i), row, *type.fields[i].type);
  } else if (storage == Storage::kList) {
    static_cast<duckdb_list_entry*>(duckdb_vector_get_data(vector))[row] = {0, 0};
  }
}

}  // namespace

void Filler::check(simdjson::error_code error) const {
  if (error == simdjson::MEMALLOC) throw std::bad_alloc();
  if (error) throw Error(std::string("cannot read a nested value again: ") + simdjson::error_message(error));
}

void Filler::fill(duckdb_vector vector, const OutputColumn& column, size_t first, size_t count) {
  switch (column.kind) {
    case OutputColumn::Kind::kValues:
      return fill_values(vector, *column.values, first, count);
    case OutputColumn::Kind::kMixed:
      return fill_mixed(vector, column, first, count);
    case OutputColumn::Kind::kStruct:
      break;
  }
  // A struct is its fields' columns side by side; it is NULL where the record had no object.
  const Cell* spans = column.object->spans.data() + first;
  for (size_t i = 0; i < count; ++i)
    if (spans[i].kind == CellKind::kNull) set_invalid(vector, i);
  for (size_t f = 0; f < column.fields.size(); ++f)
    fill(duckdb_struct_vector_get_child(vector, f), column.fields[f], first, count);
}

void Filler::fill_values(duckdb_vector vector, const ColumnData& column, size_t first, size_t count) {
  const Cell* cells = column.cells.data() + first;
  for (size_t i = 0; i < count; ++i)
    if (cells[i].kind == CellKind::kNull) set_null(vector, i, column.type);
  void* data = duckdb_vector_get_data(vector);
  switch (storage_of(column.type)) {
    case Storage::kBoolean:
      for (size_t i = 0; i < count; ++i) static_cast<bool*>(data)[i] = cells[i].kind == CellKind::kTrue;
      return;
    case Storage::kBigint:
      for (size_t i = 0; i < count; ++i)
        if (cells[i].kind != CellKind::kNull)
          static_cast<int64_t*>(data)[i] = parse_number<int64_t>(cells[i]);
      return;
    case Storage::kUbigint:
      for (size_t i = 0; i < count; ++i)
        if (cells[i].kind != CellKind::kNull)
          static_cast<uint64_t*>(data)[i] = parse_number<uint64_t>(cells[i]);
      return;
    case Storage::kDouble:
      for (size_t i = 0; i < count; ++i)
        if (cells[i].kind != CellKind::kNull) static_cast<double*>(data)[i] = parse_number<double>(cells[i]);
      return;
    case Storage::kVarchar:
      for (size_t i = 0; i < count; ++i)
        if (cells[i].kind != CellKind::kNull)
          put_text(vector, static_cast<duckdb_string_t*>(data), i, cells[i]);
      return;
    case Storage::kList:
    case Storage::kStruct:
      for (size_t i = 0; i < count; ++i)
        if (cells[i].kind != CellKind::kNull) write_nested(vector, i, cells[i], column.type);
      return;
  }
}

void Filler::fill_mixed(duckdb_vector vector, const OutputColumn& column, size_t first, size_t count) {
  auto* slots = static_cast<duckdb_string_t*>(duckdb_vector_get_data(vector));
  for (size_t i = 0; i < count; ++i) {
    const Cell& span = column.object->spans[first + i];
    const Cell cell = span.kind != CellKind::kNull ? span
                      : column.values              ? column.values->cells[first + i]
                                                   : Cell{};
    put_text(vector, slots, i, cell);
  }
}

// A value in a VARCHAR: a string's content, a number as written, true/false, compact JSON.
void Filler::put_text(duckdb_vector vector, duckdb_string_t* slots, idx_t row, const Cell& cell) {
  switch (cell.kind) {
    case CellKind::kNull:
      return set_invalid(vector, row);
    case CellKind::kFalse:
      return put_string(slots[row], "false", 5);
    case CellKind::kTrue:
      return put_string(slots[row], "true", 4);
    case CellKind::kNumber:
    case CellKind::kString:
      return put_string(slots[row], cell.data, cell.size);
    case CellKind::kNested: {
      const std::string_view text = compact(std::string_view(cell.data, cell.size));
      duckdb_vector_assign_string_element_len(vector, row, text.data(), text.size());  // copied
      return;
    }
  }
}

std::string_view Filler::compact(std::string_view json) {
  compacted_.resize(json.size());
  size_t length = 0;
  check(simdjson::minify(json.data(), json.size(), compacted_.data(), length));
  return std::string_view(compacted_.data(), length);
}

void Filler::write_nested(duckdb_vector vector, idx_t row, const Cell& cell, const ValueType& type) {
  padded_.assign(cell.data, cell.size);
  padded_.append(simdjson::SIMDJSON_PADDING, ' ');
  od::document document;
  check(parser_.iterate(padded_.data(), cell.size, padded_.size()).get(document));
  if (storage_of(type) == Storage::kList) {
    od::array array;
    check(document.get_array().get(array));
    write_list(vector, row, array, type);
  } else {
    od::object object;
    check(document.get_object().get(object));
    write_struct(vector, row, object, type);
  }
}

void Filler::write_list(duckdb_vector vector, idx_t row, od::array array, const ValueType& type) {
  size_t count = 0;
  check(array.count_elements().get(count));
  const idx_t offset = duckdb_list_vector_get_size(vector);
  if (duckdb_list_vector_reserve(vector, offset + count) == DuckDBError) throw std::bad_alloc();
  duckdb_vector child = duckdb_list_vector_get_child(vector);
  idx_t index = offset;
  for (auto item : array) {
    od::value value;
    check(item.get(value));
    write_value(child, index++, value, *type.element);
  }
  if (duckdb_list_vector_set_size(vector, offset + count) == DuckDBError) throw std::bad_alloc();
  static_cast<duckdb_list_entry*>(duckdb_vector_get_data(vector))[row] = {offset, count};
}

void Filler::write_struct(duckdb_vector vector, idx_t row, od::object object, const ValueType& type) {
  // present_ is a stack: this object's fields are [base, base + fields), nested ones above.
  const size_t base = present_.size();
  present_.resize(base + type.fields.size(), 0);
  for (auto field_result : object) {
    od::field field;
    check(std::move(field_result).get(field));
    std::string_view key;
    check(field.unescaped_key().get(key));
    const auto found = type.field_index.find(key);
    if (found == type.field_index.end())
      throw Error("a nested key was not seen when reading: " + printable(key));
    present_[base + found->second] = 1;
    write_value(duckdb_struct_vector_get_child(vector, found->second), row, field.value(),
                *type.fields[found->second].type);
  }
  for (size_t i = 0; i < type.fields.size(); ++i)
    if (!present_[base + i]) set_null(duckdb_struct_vector_get_child(vector, i), row, *type.fields[i].type);
  present_.resize(base);
}

void Filler::write_value(duckdb_vector vector, idx_t row, od::value value, const ValueType& type) {
  od::json_type json_type = od::json_type::null;
  check(value.type().get(json_type));
  if (json_type == od::json_type::null) return set_null(vector, row, type);
  void* data = duckdb_vector_get_data(vector);
  switch (storage_of(type)) {
    case Storage::kBoolean:
      return check(value.get_bool().get(static_cast<bool*>(data)[row]));
    case Storage::kBigint:
      return check(value.get_int64().get(static_cast<int64_t*>(data)[row]));
    case Storage::kUbigint:
      return check(value.get_uint64().get(static_cast<uint64_t*>(data)[row]));
    case Storage::kDouble:
      return check(value.get_double().get(static_cast<double*>(data)[row]));
    case Storage::kVarchar: {
      std::string_view text;
      if (json_type == od::json_type::string) {
        check(value.get_string().get(text));
      } else if (json_type == od::json_type::object) {
        od::object object;
        check(value.get_object().get(object));
        check(object.raw_json().get(text));
        text = compact(text);
      } else if (json_type == od::json_type::array) {
        od::array array;
        check(value.get_array().get(array));
        check(array.raw_json().get(text));
        text = compact(text);
      } else {
        text = trim_right(value.raw_json_token());  // a number as written, true or false
      }
      duckdb_vector_assign_string_element_len(vector, row, text.data(), text.size());
      return;
    }
    case Storage::kList: {
      od::array array;
      check(value.get_array().get(array));
      return write_list(vector, row, array, type);
    }
    case Storage::kStruct: {
      od::object object;
      check(value.get_object().get(object));
      return write_struct(vector, row, object, type);
    }
  }
}

}  // namespace sluice::process::json
