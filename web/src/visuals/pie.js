// pie, donut: one slice per row, named by fields.label (or x), sized by fields.value (or y).
import { makeChart } from './echarts.js';
import { text } from './data.js';

export function render({ body, visual, data, drill }) {
  const li = data.pick(['label', 'x', 'category']);
  const vi = data.pick(['value', 'y']);
  const items = [];
  data.rows.forEach((row, r) => {
    if (row[vi] === null) return;
    items.push({ name: text(row[li]), value: row[vi], row: r });
  });
  const handle = makeChart(
    body,
    {
      legend: { type: 'scroll', bottom: 0 },
      series: [{
        type: 'pie',
        radius: visual.type === 'donut' ? ['42%', '68%'] : '68%',
        center: ['50%', '45%'],
        data: items,
        label: { formatter: (p) => `${p.name}`.slice(0, 20) },
      }],
    },
    drill ? (p) => p.data && drill(p.data.row) : null,
  );
  return { marks: items.length, chart: handle };
}
