// One visual of a dashboard: its section (title, toolbar, alerts, chart or error, table view), its
// data request (aborted when a newer one starts), and the DOM hooks the browser tests read:
// data-state, data-marks, data-renders.
import { api, isAbort, seg } from '../api.js';
import { announce, el } from '../dom.js';
import { downloadQueryCsv } from '../export.js';
import { prepare, text } from '../visuals/data.js';
import { RENDERERS } from '../visuals/index.js';

const TYPE_NAMES = {
  kpi: 'Key figure', bar: 'Bar chart', stacked_bar: 'Stacked bar chart', line: 'Line chart', area: 'Area chart',
  pie: 'Pie chart', donut: 'Donut chart', table: 'Table', pivot: 'Pivot table', scatter: 'Scatter plot',
  histogram: 'Histogram', heatmap: 'Heat map', map: 'Map',
};

// A visual controller: {visual, section, run(), chart(), dispose()}.
export function createVisual({ dashboard, visual, parameters, onDrill }) {
  const headingId = `visual-${visual.id}-title`;
  const refresh = el('button', { type: 'button', 'data-action': 'refresh', 'aria-label': `Refresh ${visual.title || visual.id}`, text: '↻' });
  const csv = el('button', { type: 'button', 'data-action': 'csv', 'aria-label': `Download ${visual.id}.csv`, text: 'CSV', disabled: true });
  const tableToggle = el('button', { type: 'button', 'data-action': 'table', 'aria-pressed': 'false', 'aria-label': `Data table of ${visual.title || visual.id}`, text: 'Table' });
  const alerts = el('ul', { class: 'alerts', 'aria-label': 'Alerts' });
  const body = el('div', { class: 'visual-body' });
  const tableView = el('div', { class: 'table-view', hidden: true });
  const section = el('section', {
    class: 'visual', 'data-visual-id': visual.id, 'data-type': visual.type, 'data-state': 'loading',
    'data-marks': '0', 'data-renders': '0', 'aria-labelledby': headingId, 'aria-busy': 'true',
  },
  el('header', { class: 'visual-head' },
    el('h2', { id: headingId, text: visual.title || visual.id }),
    el('div', { class: 'visual-tools' }, refresh, csv, tableToggle)),
  visual.description ? el('p', { class: 'visual-description', text: visual.description }) : null,
  alerts, body, tableView);

  const state = { controller: null, chart: null, result: null, data: null, renders: 0, seq: 0 };
  showAlerts(alerts, visual.alerts || []);
  const drillColumn = () => (visual.drill && state.data ? state.data.column(visual.drill.field) : -1);
  const drill = visual.drill ? (rowIndex) => {
    const c = drillColumn();
    const row = state.data && state.data.rows[rowIndex];
    if (c >= 0 && row && row[c] !== null) onDrill(visual.drill.parameter, String(row[c]));
  } : null;

  const disposeChart = () => {
    if (state.chart) state.chart.dispose();
    state.chart = null;
  };

  const showError = (message) => {
    disposeChart();
    body.replaceChildren(el('p', { class: 'visual-error', role: 'alert', text: message }));
    section.dataset.state = 'error';
    section.dataset.marks = '0';
    section.removeAttribute('aria-busy');
  };

  const draw = async (seq) => {
    disposeChart();
    const data = prepare(state.result, visual.fields || {});
    state.data = data;
    const holder = el('div', { class: visual.type === 'kpi' || visual.type === 'table' || visual.type === 'pivot' ? 'text-visual' : 'chart' });
    if (holder.className === 'chart') {
      holder.setAttribute('role', 'img');
      holder.setAttribute('aria-label', `${TYPE_NAMES[visual.type] || visual.type}: ${visual.title || visual.id}. The Table button shows its data.`);
    }
    body.replaceChildren(holder);
    const drawn = await RENDERERS[visual.type]({ body: holder, visual, data, drill });
    if (seq !== state.seq) {
      if (drawn.chart) drawn.chart.dispose();
      return;
    }
    state.chart = drawn.chart || null;
    state.tableRows = drawn.tableRows || null;
    state.tableColumns = drawn.tableColumns || null;
    if (!data.rows.length && visual.type !== 'table') holder.append(el('p', { class: 'empty', text: 'No data for these parameters.' }));
    state.renders += 1;
    section.dataset.marks = String(drawn.marks);
    section.dataset.state = 'ready';
    section.dataset.renders = String(state.renders);
    section.removeAttribute('aria-busy');
    if (!tableView.hidden) fillTableView();
  };

  // `refresh`: a re-run because the data changed. It never aborts one in flight (under a steady
  // stream of changes a slow query would then never finish): it is queued behind it instead. A run
  // for new parameters, or the refresh button, supersedes the one in flight (aborting it).
  // `fresh`: the refresh button — the server runs the query again instead of reusing its cached result.
  const run = async ({ refresh = false, fresh = false } = {}) => {
    if (refresh && state.controller) {
      state.pending = true;
      return;
    }
    state.pending = false;
    if (state.controller) state.controller.abort();
    const controller = new AbortController();
    state.controller = controller;
    const seq = ++state.seq;
    section.dataset.state = 'loading';
    section.setAttribute('aria-busy', 'true');
    if (!RENDERERS[visual.type]) return showError(`unknown visual type ${visual.type}`);
    try {
      const result = await api(`/v1/dashboards/${seg(dashboard)}/visuals/${seg(visual.id)}/data`, {
        method: 'POST', body: { parameters: parameters(), refresh: fresh }, signal: controller.signal,
      });
      if (seq !== state.seq) return;
      state.result = result;
      csv.disabled = !result.query_id;
      showAlerts(alerts, result.alerts || visual.alerts || []);
      await draw(seq);
    } catch (error) {
      if (isAbort(error) || seq !== state.seq) return;
      showError(error.message || String(error));
    } finally {
      if (state.controller === controller) {
        state.controller = null;
        if (state.pending && !state.disposed) run();
      }
    }
  };

  const fillTableView = () => {
    const data = state.data;
    if (!data) {
      tableView.replaceChildren(el('p', { text: 'No data yet.' }));
      return;
    }
    const drillColumnIndex = drillColumn();
    const columns = state.tableColumns || data.columns.map((c) => c.name);
    const rows = state.tableRows || data.rows;
    const limit = 500;
    const table = el('table', { class: 'data-table' },
      el('caption', { text: `${visual.title || visual.id}: ${rows.length} row${rows.length === 1 ? '' : 's'}${rows.length > limit ? ` (first ${limit} shown)` : ''}` }),
      el('thead', {}, el('tr', {}, columns.map((c) => el('th', { scope: 'col', text: c })),
        visual.drill && !state.tableRows ? el('th', { scope: 'col', text: 'Drill' }) : null)),
      el('tbody', {}, rows.slice(0, limit).map((row) => el('tr', {},
        row.map((v) => el('td', { text: text(v) })),
        visual.drill && !state.tableRows ? el('td', {}, row[drillColumnIndex] === null || drillColumnIndex < 0 ? null :
          el('button', {
            type: 'button', 'data-drill-value': String(row[drillColumnIndex]),
            'aria-label': `Set ${visual.drill.parameter} to ${String(row[drillColumnIndex])}`,
            text: `Set ${visual.drill.parameter}`,
            onclick: () => onDrill(visual.drill.parameter, String(row[drillColumnIndex])),
          })) : null))));
    tableView.replaceChildren(el('div', { class: 'table-scroll', tabindex: '0', role: 'region', 'aria-label': `${visual.title || visual.id} data table` }, table));
  };

  refresh.addEventListener('click', () => run({ fresh: true }));
  tableToggle.addEventListener('click', () => {
    const show = tableView.hidden;
    tableView.hidden = !show;
    tableToggle.setAttribute('aria-pressed', String(show));
    if (show) fillTableView();
  });
  csv.addEventListener('click', async () => {
    if (!state.result || !state.result.query_id) return;
    try {
      await downloadQueryCsv(state.result.query_id, `${visual.id}.csv`);
      announce(`${visual.id}.csv downloaded`);
    } catch (error) {
      announce(`CSV failed: ${error.message}`);
    }
  });

  return {
    visual,
    section,
    run,
    chart: () => (state.chart ? state.chart.chart : null),
    dispose() {
      state.disposed = true;
      state.seq += 1;
      if (state.controller) state.controller.abort();
      disposeChart();
    },
  };
}

function showAlerts(list, alerts) {
  list.replaceChildren(...alerts.map((a) => el('li', {
    class: 'alert', 'data-alert': a.name, 'data-state': a.state || 'unknown',
  },
  el('span', { class: 'alert-state', text: a.state === 'firing' ? 'Firing' : a.state === 'ok' ? 'OK' : 'Unknown' }),
  el('span', { class: 'alert-name', text: ` ${a.name}: ` }),
  el('span', { class: 'alert-message', text: a.message || a.condition || '' }))));
  list.hidden = alerts.length === 0;
}
