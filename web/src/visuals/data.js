// A visual's query result made usable: numbers arrive as strings and are converted by column type;
// fields (x, y, value, ...) name columns (the visual's `fields` mapping).

const NUMERIC = /^(tinyint|smallint|integer|int|bigint|hugeint|utinyint|usmallint|uinteger|ubigint|uhugeint|float|real|double|decimal|numeric)\b/i;

export function isNumericType(type) {
  return NUMERIC.test(String(type || '').trim());
}

// {columns:[{name,type}], rows:[[...converted...]], column(field) → index or -1, value(row, field)}.
export function prepare(result, fields) {
  const columns = (result.columns || []).map((c) => (typeof c === 'string' ? { name: c, type: '' } : c));
  const numeric = columns.map((c) => isNumericType(c.type));
  const rows = (result.rows || []).map((row) =>
    row.map((v, i) => (v === null || v === undefined ? null : numeric[i] ? Number(v) : String(v))),
  );
  const index = new Map(columns.map((c, i) => [c.name, i]));
  const column = (field) => {
    const name = fields && fields[field];
    return name === undefined ? -1 : index.has(name) ? index.get(name) : -1;
  };
  // The column index of the first of `names` that is mapped; throws when `required` and none is.
  const pick = (names, required = true) => {
    for (const f of names) {
      const i = column(f);
      if (i >= 0) return i;
    }
    if (required) throw new Error(`the visual maps no column to ${names.join(' or ')}`);
    return -1;
  };
  return { columns, rows, numeric, column, pick };
}

// Text of a value for labels and tables.
export function text(value) {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : value.toLocaleString(undefined, { maximumFractionDigits: 4 });
  return String(value);
}

// Distinct values of column `i` in first-seen order.
export function distinct(rows, i) {
  const seen = new Set();
  const out = [];
  for (const r of rows) {
    const key = r[i] === null ? '' : String(r[i]);
    if (!seen.has(key)) {
      seen.add(key);
      out.push(key);
    }
  }
  return out;
}

// Symbol sizes (px, 6 to 28, by area) for fields.size's column `i` (-1: none, every point 9 px).
export function sizer(rows, i) {
  if (i < 0) return () => 9;
  let max = 0;
  for (const r of rows) if (typeof r[i] === 'number' && Math.abs(r[i]) > max) max = Math.abs(r[i]);
  return (row) => (typeof row[i] === 'number' && max > 0 ? 6 + 22 * Math.sqrt(Math.abs(row[i]) / max) : 6);
}
