// heatmap: a cell per row at (fields.x, fields.y) coloured by fields.value.
import { gridOptions, makeChart } from './echarts.js';
import { distinct } from './data.js';

export function render({ body, data, drill }) {
  const xi = data.pick(['x']);
  const yi = data.pick(['y']);
  const vi = data.pick(['value']);
  const xs = distinct(data.rows, xi);
  const ys = distinct(data.rows, yi);
  const cells = [];
  let min = Infinity;
  let max = -Infinity;
  data.rows.forEach((row, r) => {
    const v = row[vi];
    if (v === null) return;
    cells.push({ value: [xs.indexOf(row[xi] === null ? '' : String(row[xi])), ys.indexOf(row[yi] === null ? '' : String(row[yi])), v], row: r });
    if (v < min) min = v;
    if (v > max) max = v;
  });
  const handle = makeChart(
    body,
    {
      ...gridOptions(),
      grid: { left: 8, right: 16, top: 16, bottom: 48, containLabel: true },
      xAxis: { type: 'category', data: xs, splitArea: { show: true } },
      yAxis: { type: 'category', data: ys, splitArea: { show: true } },
      visualMap: {
        min: cells.length ? min : 0,
        max: cells.length ? (max === min ? min + 1 : max) : 1,
        calculable: false,
        orient: 'horizontal',
        left: 'center',
        bottom: 0,
        itemHeight: 120,
        inRange: { color: ['#e8f1fa', '#2f6fb0', '#0b2e55'] },
      },
      series: [{ type: 'heatmap', data: cells, label: { show: cells.length <= 60 } }],
    },
    drill ? (p) => p.data && drill(p.data.row) : null,
  );
  return { marks: cells.length, chart: handle };
}
