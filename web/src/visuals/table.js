// table: every column, sortable by a click on its header, paged by options.page_size.
import { el } from '../dom.js';
import { text } from './data.js';

export function render({ body, visual, data }) {
  const pageSize = Math.max(1, Number((visual.options || {}).page_size) || 25);
  const state = { sortColumn: -1, descending: false, page: 0 };
  const wrap = el('div', { class: 'table-scroll', tabindex: '0', role: 'region', 'aria-label': `${visual.title || visual.id} data` });
  const pager = el('div', { class: 'pager' });
  body.append(wrap, pager);
  let marks = 0;
  const order = data.rows.map((_, i) => i);

  const sort = () => {
    const c = state.sortColumn;
    if (c < 0) return;
    const dir = state.descending ? -1 : 1;
    order.sort((a, b) => {
      const x = data.rows[a][c];
      const y = data.rows[b][c];
      if (x === y) return a - b;
      if (x === null) return 1;
      if (y === null) return -1;
      return (typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y))) * dir;
    });
  };

  const draw = () => {
    const pages = Math.max(1, Math.ceil(order.length / pageSize));
    state.page = Math.min(state.page, pages - 1);
    const start = state.page * pageSize;
    const shown = order.slice(start, start + pageSize);
    const head = el('tr', {}, data.columns.map((c, i) => {
      const sorted = state.sortColumn === i ? (state.descending ? 'descending' : 'ascending') : 'none';
      return el('th', { scope: 'col', 'aria-sort': sorted },
        el('button', {
          type: 'button',
          class: 'sort',
          'data-sort-column': c.name,
          onclick: () => {
            state.descending = state.sortColumn === i ? !state.descending : false;
            state.sortColumn = i;
            sort();
            draw();
          },
        }, c.name, el('span', { 'aria-hidden': 'true', text: sorted === 'ascending' ? ' ▲' : sorted === 'descending' ? ' ▼' : '' })));
    }));
    const rows = shown.map((r) => el('tr', {}, data.rows[r].map((v, i) => el('td', { class: data.numeric[i] ? 'num' : null, text: text(v) }))));
    wrap.replaceChildren(el('table', { class: 'data-table' }, el('thead', {}, head), el('tbody', {}, rows)));
    marks = rows.length;
    pager.replaceChildren(
      el('button', { type: 'button', 'data-action': 'table-prev', disabled: state.page === 0, onclick: () => { state.page -= 1; draw(); } }, 'Previous'),
      el('span', { class: 'page-info', text: order.length ? `Rows ${start + 1}–${start + shown.length} of ${order.length}` : 'No rows' }),
      el('button', { type: 'button', 'data-action': 'table-next', disabled: state.page >= pages - 1, onclick: () => { state.page += 1; draw(); } }, 'Next'),
    );
    body.closest('section.visual')?.setAttribute('data-marks', String(marks));
  };
  draw();
  return { marks };
}
