// scatter: one point per row at (fields.x, fields.y), grouped by fields.series when mapped.
import { gridOptions, makeChart } from './echarts.js';
import { distinct, sizer, text } from './data.js';

export function render({ body, data, drill }) {
  const xi = data.pick(['x']);
  const yi = data.pick(['y']);
  const si = data.pick(['series', 'color', 'group'], false);
  const li = data.pick(['label'], false);
  const size = sizer(data.rows, data.pick(['size'], false));
  const names = si >= 0 ? distinct(data.rows, si) : [''];
  const groups = names.map(() => []);
  let marks = 0;
  data.rows.forEach((row, r) => {
    if (row[xi] === null || row[yi] === null) return;
    const s = si >= 0 ? names.indexOf(row[si] === null ? '' : String(row[si])) : 0;
    groups[s].push({ value: [row[xi], row[yi]], row: r, size: size(row), name: li >= 0 ? text(row[li]) : '' });
    marks += 1;
  });
  const xNumeric = data.numeric[xi];
  const handle = makeChart(
    body,
    {
      ...gridOptions(),
      legend: names.length > 1 ? { type: 'scroll', top: 0 } : undefined,
      tooltip: {
        renderMode: 'richText',
        confine: true,
        formatter: (p) => `${p.data.name ? p.data.name + '\n' : ''}${text(p.data.value[0])}, ${text(p.data.value[1])}`,
      },
      xAxis: { type: xNumeric ? 'value' : 'category', scale: true },
      yAxis: { type: 'value', scale: true },
      series: groups.map((g, s) => ({ name: names[s], type: 'scatter', data: g, symbolSize: (v, p) => p.data.size })),
    },
    drill ? (p) => p.data && drill(p.data.row) : null,
  );
  return { marks, chart: handle };
}
