// How many terminal columns text takes: UTF-8 decoded, East Asian wide and fullwidth characters
// (CJK, Hangul, most emoji) as 2 columns, combining marks and other zero-width characters as 0.
// Invalid UTF-8 is never trusted: each bad byte counts (and is shown) as U+FFFD, one column.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace sluice {

// Columns that code point `cp` takes on a terminal: 0 (combining, zero-width, control), 1 or 2.
// Never throws.
int codepoint_width(char32_t cp);

// Columns that the UTF-8 text `text` takes; invalid bytes count 1 each. Never throws.
size_t display_width(std::string_view text);

// `text` safe to print on a terminal: invalid UTF-8 bytes and control characters (C0, DEL, C1; an
// ESC could drive the terminal) replaced by U+FFFD, tab and newline by a space. Never throws except
// std::bad_alloc.
std::string printable_utf8(std::string_view text);

// The longest prefix of `text` (whole characters, zero-width marks kept with their base) that takes
// at most `columns` columns. Throws only std::bad_alloc.
std::string truncate_to_width(std::string_view text, size_t columns);

// `text` followed by spaces up to `columns` columns (unchanged when already that wide). Throws only
// std::bad_alloc.
std::string pad_to_width(std::string_view text, size_t columns);

// Spaces before `text` up to `columns` columns (for right-aligned numbers). Throws only std::bad_alloc.
std::string pad_left_to_width(std::string_view text, size_t columns);

}  // namespace sluice
