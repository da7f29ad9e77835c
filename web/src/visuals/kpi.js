// kpi: one value (fields.value, first row) and, when fields.previous is mapped, its change.
import { el } from '../dom.js';
import { text } from './data.js';

export function render({ body, data }) {
  const vi = data.pick(['value']);
  const pi = data.column('previous');
  const row = data.rows[0];
  const value = row ? row[vi] : null;
  const box = el('div', { class: 'kpi' }, el('p', { class: 'kpi-value', text: value === null ? '—' : text(value) }));
  if (pi >= 0 && row) {
    const previous = row[pi];
    if (typeof value === 'number' && typeof previous === 'number') {
      const delta = value - previous;
      const percent = previous !== 0 ? ` (${((delta / Math.abs(previous)) * 100).toFixed(1)} %)` : '';
      const direction = delta > 0 ? 'up' : delta < 0 ? 'down' : 'flat';
      const arrow = delta > 0 ? '▲' : delta < 0 ? '▼' : '•';
      box.append(
        el('p', { class: `kpi-delta kpi-${direction}` },
          el('span', { 'aria-hidden': 'true', text: `${arrow} ` }),
          `${delta > 0 ? '+' : ''}${text(delta)}${percent} vs previous ${text(previous)}`),
      );
    } else {
      box.append(el('p', { class: 'kpi-delta', text: `previous: ${previous === null ? '—' : text(previous)}` }));
    }
  }
  body.append(box);
  return { marks: 1 };
}
