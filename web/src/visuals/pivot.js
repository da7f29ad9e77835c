// pivot: rows × columns of sum(fields.value); a row of totals in the table's footer.
import { el } from '../dom.js';
import { distinct, text } from './data.js';

export function render({ body, visual, data }) {
  const ri = data.pick(['rows', 'row', 'x']);
  const ci = data.pick(['columns', 'column', 'y', 'series']);
  const vi = data.pick(['value']);
  const rowKeys = distinct(data.rows, ri);
  const colKeys = distinct(data.rows, ci);
  const sums = new Map();
  for (const r of data.rows) {
    const key = `${r[ri] ?? ''}\u0000${r[ci] ?? ''}`;
    sums.set(key, (sums.get(key) || 0) + (typeof r[vi] === 'number' ? r[vi] : 0));
  }
  const cell = (rk, ck) => sums.get(`${rk}\u0000${ck}`);
  const colTotals = colKeys.map((ck) => rowKeys.reduce((t, rk) => t + (cell(rk, ck) || 0), 0));
  const table = el('table', { class: 'data-table pivot' },
    el('thead', {}, el('tr', {},
      el('th', { scope: 'col', text: `${visual.fields.rows || visual.fields.row || ''} \\ ${visual.fields.columns || visual.fields.column || ''}` }),
      colKeys.map((ck) => el('th', { scope: 'col', text: ck })),
      el('th', { scope: 'col', text: 'Total' }))),
    el('tbody', {}, rowKeys.map((rk) => el('tr', {},
      el('th', { scope: 'row', text: rk }),
      colKeys.map((ck) => el('td', { class: 'num', text: cell(rk, ck) === undefined ? '' : text(cell(rk, ck)) })),
      el('td', { class: 'num total', text: text(colKeys.reduce((t, ck) => t + (cell(rk, ck) || 0), 0)) })))),
    el('tfoot', {}, el('tr', {},
      el('th', { scope: 'row', text: 'Total' }),
      colTotals.map((t) => el('td', { class: 'num total', text: text(t) })),
      el('td', { class: 'num total', text: text(colTotals.reduce((a, b) => a + b, 0)) }))),
  );
  body.append(el('div', { class: 'table-scroll', tabindex: '0', role: 'region', 'aria-label': `${visual.title || visual.id} pivot` }, table));
  return { marks: rowKeys.length };
}
