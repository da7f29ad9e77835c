// The renderer of each visual type. A renderer takes {body, visual, data, drill} and returns (or
// resolves to) {marks, chart?} — chart being {chart, dispose} for an ECharts canvas.
import * as cartesian from './cartesian.js';
import * as heatmap from './heatmap.js';
import * as histogram from './histogram.js';
import * as kpi from './kpi.js';
import * as map from './map.js';
import * as pie from './pie.js';
import * as pivot from './pivot.js';
import * as scatter from './scatter.js';
import * as table from './table.js';

export const RENDERERS = {
  kpi: kpi.render,
  bar: cartesian.render,
  stacked_bar: cartesian.render,
  line: cartesian.render,
  area: cartesian.render,
  pie: pie.render,
  donut: pie.render,
  table: table.render,
  pivot: pivot.render,
  scatter: scatter.render,
  histogram: histogram.render,
  heatmap: heatmap.render,
  map: map.render,
};

// Drawn as text (no canvas): the PNG export writes their texts.
export const TEXT_TYPES = new Set(['kpi', 'table', 'pivot']);
