// bar, stacked_bar, line, area: categories from fields.x, values from fields.y, one series per
// distinct fields.series (when mapped). One mark per (category, series) that has a value.
import { gridOptions, makeChart } from './echarts.js';
import { distinct, text } from './data.js';

export function render({ body, visual, data, drill }) {
  const xi = data.pick(['x']);
  const yi = data.pick(['y', 'value']);
  const si = data.pick(['series', 'color', 'group'], false);
  const categories = distinct(data.rows, xi);
  const catIndex = new Map(categories.map((c, i) => [c, i]));
  const names = si >= 0 ? distinct(data.rows, si) : [visual.fields.y || 'value'];
  const seriesData = names.map(() => categories.map(() => null));
  data.rows.forEach((row, r) => {
    const s = si >= 0 ? names.indexOf(row[si] === null ? '' : String(row[si])) : 0;
    const c = catIndex.get(row[xi] === null ? '' : String(row[xi]));
    if (row[yi] === null) return;
    seriesData[s][c] = { value: row[yi], row: r };
  });
  const type = visual.type === 'line' || visual.type === 'area' ? 'line' : 'bar';
  const stacked = visual.type === 'stacked_bar' || (visual.type === 'area' && names.length > 1);
  const series = names.map((name, s) => ({
    name,
    type,
    stack: stacked ? 'total' : undefined,
    areaStyle: visual.type === 'area' ? {} : undefined,
    showSymbol: type === 'line' && categories.length <= 60,
    data: seriesData[s],
    emphasis: { focus: 'series' },
  }));
  const marks = seriesData.reduce((n, d) => n + d.filter((v) => v !== null).length, 0);
  const handle = makeChart(
    body,
    {
      ...gridOptions(),
      legend: names.length > 1 ? { type: 'scroll', top: 0 } : undefined,
      tooltip: { renderMode: 'richText', trigger: type === 'line' ? 'axis' : 'item', confine: true },
      xAxis: { type: 'category', data: categories, axisLabel: { hideOverlap: true, formatter: (v) => text(v).slice(0, 24) } },
      // Counts are whole numbers: no 0.2 ticks on an axis of integers.
      yAxis: { type: 'value', minInterval: /INT(EGER)?$/i.test(String(data.columns[yi]?.type || '')) ? 1 : undefined },
      series,
    },
    drill ? (p) => p.data && drill(p.data.row) : null,
  );
  return { marks, chart: handle };
}
