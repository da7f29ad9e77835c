// histogram: options.bins equal-width bins over fields.value (numbers; nulls skipped).
import { gridOptions, makeChart } from './echarts.js';
import { text } from './data.js';

export function bin(values, bins) {
  if (!values.length) return [];
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (min === max) max = min + 1;
  const width = (max - min) / bins;
  const counts = new Array(bins).fill(0);
  for (const v of values) counts[Math.min(bins - 1, Math.floor((v - min) / width))] += 1;
  return counts.map((count, i) => ({ low: min + i * width, high: min + (i + 1) * width, count }));
}

export function render({ body, visual, data }) {
  const vi = data.pick(['value', 'x']);
  const bins = Math.max(1, Math.min(500, Number((visual.options || {}).bins) || 20));
  const values = data.rows.map((r) => r[vi]).filter((v) => typeof v === 'number' && Number.isFinite(v));
  const histogram = bin(values, bins);
  const label = (b) => `${text(Number(b.low.toPrecision(4)))}–${text(Number(b.high.toPrecision(4)))}`;
  const handle = makeChart(body, {
    ...gridOptions(),
    xAxis: { type: 'category', data: histogram.map(label), axisLabel: { hideOverlap: true } },
    yAxis: { type: 'value', name: 'count' },
    series: [{ type: 'bar', barCategoryGap: '4%', data: histogram.map((b) => b.count) }],
  });
  return { marks: histogram.length, chart: handle, tableRows: histogram.map((b) => [label(b), b.count]), tableColumns: ['bin', 'count'] };
}
