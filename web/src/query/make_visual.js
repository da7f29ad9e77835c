// "Make a visual" from a query result: pick a chart type and its fields, see a preview drawn from the
// current page of rows, and copy the YAML of the visual for the pipeline file's dashboards section.
import { el } from '../dom.js';
import { isNumericType, prepare } from '../visuals/data.js';
import { RENDERERS } from '../visuals/index.js';

// The fields each type takes, first the required ones (as the pipeline file's parser expects).
export const TYPE_FIELDS = {
  bar: ['x', 'y', 'series'], stacked_bar: ['x', 'y', 'series'], line: ['x', 'y', 'series'], area: ['x', 'y', 'series'],
  pie: ['label', 'value'], donut: ['label', 'value'], kpi: ['value', 'previous'], table: [],
  pivot: ['rows', 'columns', 'value'], scatter: ['x', 'y', 'label', 'size'], histogram: ['value'], heatmap: ['x', 'y', 'value'],
  map: ['lat', 'lng', 'label', 'size'],
};
const OPTIONAL = new Set(['series', 'previous', 'label', 'size']);

// A YAML scalar: plain when safe, double-quoted (JSON escaping is valid YAML) otherwise.
function scalar(value) {
  return /^[A-Za-z_][A-Za-z0-9_ .-]*$/.test(value) && !/^(true|false|null|yes|no|on|off)$/i.test(value) ? value : JSON.stringify(value);
}

// The visual as the pipeline file's dashboards section declares it: an entry of a sheet's `visuals`
// map, keyed by its id.
export function visualYaml({ id, type, title, sql, fields }) {
  const lines = [`${scalar(id)}:`, `  type: ${type}`, `  title: ${scalar(title)}`, '  sql: |'];
  for (const line of sql.split('\n')) lines.push(`    ${line}`);
  const mapped = Object.entries(fields).filter(([, v]) => v);
  if (mapped.length) lines.push(`  fields: {${mapped.map(([k, v]) => `${k}: ${scalar(v)}`).join(', ')}}`);
  lines.push('  refresh: on_change');
  return lines.join('\n') + '\n';
}

export function createVisualMaker(host) {
  const typeSelect = el('select', { id: 'make-visual-type', name: 'type' },
    Object.keys(TYPE_FIELDS).map((t) => el('option', { value: t, text: t })));
  const fieldBox = el('div', { class: 'maker-fields' });
  const preview = el('div', { class: 'maker-preview' });
  const yaml = el('pre', { class: 'visual-yaml', tabindex: '0', 'aria-label': 'Visual YAML' });
  host.append(
    el('h2', { text: 'Make a visual' }),
    el('div', { class: 'maker-controls' }, el('label', { for: 'make-visual-type', text: 'Chart type' }), typeSelect, fieldBox),
    preview, el('p', { class: 'muted', text: 'Add this under a sheet\u2019s visuals in the pipeline file:' }), yaml);
  const state = { query: null, page: null, fields: {}, chart: null };

  const columnNames = () => (state.page ? state.page.columns.map((c) => c.name) : []);
  // Measures (y, value, lat, lng) default to the numeric columns, the others to the rest.
  const defaultColumn = (field, i) => {
    const columns = state.page ? state.page.columns : [];
    const wantsNumber = ['y', 'value', 'lat', 'lng'].includes(field);
    const fitting = columns.filter((c) => isNumericType(c.type) === wantsNumber).map((c) => c.name);
    const pool = fitting.length ? fitting : columns.map((c) => c.name);
    const taken = new Set(Object.values(state.fields));
    return pool.find((n) => !taken.has(n)) || pool[Math.min(i, pool.length - 1)] || '';
  };

  const drawFields = () => {
    const names = columnNames();
    const previous = state.fields;
    state.fields = {};
    fieldBox.replaceChildren(...TYPE_FIELDS[typeSelect.value].map((f, i) => {
      const id = `make-visual-field-${f}`;
      const select = el('select', { id, name: f },
        OPTIONAL.has(f) ? el('option', { value: '', text: '(none)' }) : null,
        names.map((n) => el('option', { value: n, text: n })));
      const current = previous[f];
      select.value = current && names.includes(current) ? current : OPTIONAL.has(f) ? '' : defaultColumn(f, i);
      state.fields[f] = select.value;
      select.addEventListener('change', () => {
        state.fields[f] = select.value;
        draw();
      });
      return el('span', { class: 'maker-field' }, el('label', { for: id, text: f }), select);
    }));
  };

  const draw = async () => {
    if (state.chart) state.chart.dispose();
    state.chart = null;
    if (!state.page) return;
    const type = typeSelect.value;
    const fields = {};
    for (const f of TYPE_FIELDS[type]) if (state.fields[f]) fields[f] = state.fields[f];
    const visual = { id: 'new_visual', type, title: 'New visual', fields, options: { bins: 20, page_size: 10 } };
    yaml.textContent = visualYaml({ id: 'new_visual', type, title: 'New visual', sql: state.query.sql || '', fields });
    const holder = el('div', { class: type === 'kpi' || type === 'table' || type === 'pivot' ? 'text-visual' : 'chart' });
    preview.replaceChildren(holder);
    try {
      const drawn = await RENDERERS[type]({ body: holder, visual, data: prepare({ columns: state.page.columns, rows: state.page.rows.map((r) => r.map((v) => (v === null ? null : String(v)))) }, fields), drill: null });
      state.chart = drawn.chart || null;
    } catch (error) {
      preview.replaceChildren(el('p', { class: 'visual-error', text: error.message }));
    }
  };

  typeSelect.addEventListener('change', () => {
    drawFields();
    draw();
  });
  return {
    update(query, page) {
      state.query = query;
      state.page = page;
      drawFields();
      draw();
    },
    dispose() {
      if (state.chart) state.chart.dispose();
    },
  };
}
