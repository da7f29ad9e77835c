// #/dashboards/NAME[/SHEET]: parameters bar, sheet tabs, and the sheet's visuals, each fetching its
// own data (POST .../visuals/ID/data) and refreshing by its mode (on_change: polling /versions every
// 1 s while the page is visible; interval; manual). A failing visual shows its error in itself.
import { api, isAbort, seg } from '../api.js';
import { announce, el } from '../dom.js';
import { downloadSheetPng } from '../export.js';
import { createVisual } from './visual.js';

// Parameter values chosen on this tab, per dashboard, kept across sheet changes.
const chosen = new Map();

const pad = (n) => String(n).padStart(2, '0');
// ISO-8601 (UTC) → the value of an <input type="datetime-local"> (local time).
function toLocalInput(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
function fromLocalInput(value) {
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? null : d.toISOString().replace('.000Z', 'Z');
}

export function render(main, route) {
  const { name } = route.params;
  main.dataset.page = 'dashboard';
  main.dataset.dashboard = name;
  const title = el('h1', { text: name });
  const status = el('p', { class: 'muted', 'aria-live': 'polite', text: 'Loading the dashboard…' });
  main.append(el('div', { class: 'dashboard-head' }, title), status);
  const page = { name, main, disposed: false, controller: new AbortController(), visuals: new Map(), timers: [] };
  api(`/v1/dashboards/${seg(name)}`, { signal: page.controller.signal })
    .then((definition) => {
      if (page.disposed) return;
      status.remove();
      build(page, definition, Math.min(route.params.sheet, Math.max(0, definition.sheets.length - 1)), title);
    })
    .catch((error) => {
      if (isAbort(error)) return;
      status.textContent = `Could not load the dashboard ${name}: ${error.message}`;
      status.className = 'error-text';
    });
  return () => {
    page.disposed = true;
    page.controller.abort();
    for (const t of page.timers) clearInterval(t);
    for (const v of page.visuals.values()) v.dispose();
    document.removeEventListener('visibilitychange', page.onVisibility || (() => {}));
  };
}

function build(page, definition, sheetIndex, title) {
  const { main, name } = page;
  title.textContent = definition.title || name;
  document.title = `${definition.title || name} · sluice`;
  if (!chosen.has(name)) chosen.set(name, {});
  const values = chosen.get(name);
  page.values = values;
  page.definition = definition;

  const params = el('form', { class: 'parameters', 'aria-label': 'Parameters', onsubmit: (e) => e.preventDefault() });
  for (const p of definition.parameters || []) params.append(parameterControl(page, p));
  const png = el('button', { type: 'button', 'data-action': 'png', text: 'Download PNG' });
  const toolbar = el('div', { class: 'toolbar', role: 'toolbar', 'aria-label': 'Dashboard' }, png);
  main.querySelector('.dashboard-head').append(toolbar);
  if ((definition.parameters || []).length) main.append(params);

  const sheets = definition.sheets || [];
  const panelId = 'sheet-panel';
  if (sheets.length > 1) {
    const tabs = el('div', { role: 'tablist', 'aria-label': 'Sheets' });
    sheets.forEach((sheet, i) => {
      tabs.append(el('button', {
        type: 'button', role: 'tab', id: `sheet-tab-${i}`, 'aria-selected': i === sheetIndex ? 'true' : 'false',
        'aria-controls': panelId, text: sheet.title || `Sheet ${i + 1}`,
        onclick: () => { location.hash = `#/dashboards/${encodeURIComponent(name)}/${i}`; },
      }));
    });
    main.append(tabs);
  }
  const sheet = sheets[sheetIndex] || { visuals: [] };
  const grid = el('div', { class: 'visual-grid' });
  const panel = el('div', { id: panelId, role: sheets.length > 1 ? 'tabpanel' : null,
    'aria-labelledby': sheets.length > 1 ? `sheet-tab-${sheetIndex}` : null }, grid);
  main.append(panel);
  if (!sheet.visuals.length) grid.append(el('p', { class: 'muted', text: 'This sheet has no visuals.' }));

  for (const visual of sheet.visuals) {
    const controller = createVisual({
      dashboard: name,
      visual,
      parameters: () => requestParameters(definition, values),
      onDrill: (parameter, value) => setParameter(page, parameter, value),
    });
    page.visuals.set(visual.id, controller);
    grid.append(controller.section);
  }
  png.addEventListener('click', () => {
    const charts = new Map();
    for (const [id, v] of page.visuals) if (v.chart()) charts.set(id, v.chart());
    downloadSheetPng(grid, charts, definition.title || name, `${name}.png`);
    announce(`${name}.png downloaded`);
  });
  for (const v of page.visuals.values()) v.run();
  startRefresh(page, sheet.visuals);
}

// The parameters the visuals' requests carry: those the user set (the others take their defaults).
function requestParameters(definition, values) {
  const out = {};
  for (const p of definition.parameters || []) if (values[p.name] !== undefined) out[p.name] = values[p.name];
  return out;
}

// Sets `parameter` to `value` (a drill or a control) and re-runs the visuals that use it.
function setParameter(page, parameter, value, fromControl = false) {
  page.values[parameter] = value;
  if (!fromControl) {
    const holder = page.main.querySelector(`[data-parameter="${CSS.escape(parameter)}"]`);
    const input = holder && holder.querySelector('select, input');
    if (input && input.tagName === 'SELECT') {
      if (![...input.options].some((o) => o.value === value)) input.append(el('option', { value, text: value }));
      input.value = value;
    } else if (input) {
      input.value = value;
    }
    announce(`${parameter} set to ${value}`);
  }
  for (const v of page.visuals.values()) if ((v.visual.parameters || []).includes(parameter)) v.run();
}

function parameterControl(page, p) {
  const id = `param-${p.name}`;
  const label = p.label || p.name;
  const current = page.values[p.name];
  const change = (value) => setParameter(page, p.name, value, true);
  if (p.type === 'date_range') {
    const initial = current || (p.default && typeof p.default === 'object' ? p.default : {});
    const start = el('input', { type: 'datetime-local', name: 'start', id: `${id}-start`, value: initial.start ? toLocalInput(initial.start) : '' });
    const end = el('input', { type: 'datetime-local', name: 'end', id: `${id}-end`, value: initial.end ? toLocalInput(initial.end) : '' });
    const onChange = () => {
      const range = {};
      const s = fromLocalInput(start.value);
      const e = fromLocalInput(end.value);
      if (s) range.start = s;
      if (e) range.end = e;
      change(range);
    };
    start.addEventListener('change', onChange);
    end.addEventListener('change', onChange);
    return el('fieldset', { class: 'parameter', 'data-parameter': p.name },
      el('legend', { text: label }),
      el('label', { for: start.id, text: 'From' }), start,
      el('label', { for: end.id, text: 'To' }), end);
  }
  let input;
  if (p.type === 'dropdown') {
    input = el('select', { id, name: p.name });
    const initial = current !== undefined ? current : typeof p.default === 'string' ? p.default : '';
    input.append(el('option', { value: '', text: 'All' }));
    if (initial) input.append(el('option', { value: initial, text: initial }));
    input.value = initial;
    api(`/v1/dashboards/${seg(page.name)}/parameters/${seg(p.name)}/values`, { signal: page.controller.signal })
      .then(({ values }) => {
        const selected = input.value;
        input.replaceChildren(el('option', { value: '', text: 'All' }));
        for (const v of values) if (v !== null && v !== '') input.append(el('option', { value: String(v), text: String(v) }));
        if (selected && ![...input.options].some((o) => o.value === selected)) input.append(el('option', { value: selected, text: selected }));
        input.value = selected;
      })
      .catch((error) => {
        if (!isAbort(error)) input.title = `choices unavailable: ${error.message}`;
      });
    input.addEventListener('change', () => change(input.value));
  } else if (p.type === 'number') {
    input = el('input', { id, name: p.name, type: 'number', step: 'any', value: current ?? p.default ?? '' });
    input.addEventListener('change', () => change(input.value));
  } else {
    input = el('input', { id, name: p.name, type: 'search', value: current ?? p.default ?? '' });
    let timer = null;
    input.addEventListener('input', () => {
      clearTimeout(timer);
      timer = setTimeout(() => change(input.value), 400);
    });
    input.addEventListener('change', () => {
      clearTimeout(timer);
      if (page.values[p.name] !== input.value) change(input.value);
    });
  }
  return el('div', { class: 'parameter', 'data-parameter': p.name }, el('label', { for: id, text: label }), input);
}

// on_change: poll the tables' versions every second while the page is visible (a cheap call: the
// catalog's last update of each table); interval: every N s.
function startRefresh(page, visuals) {
  // A visual whose tables the server could not tell (an empty list) re-runs on any table's change.
  const watched = visuals.filter((v) => (v.refresh || {}).mode === 'on_change');
  const reads = (v, changed) => (v.tables && v.tables.length ? v.tables.some((t) => changed.has(t)) : changed.size > 0);
  let versions = null;
  let polling = false;
  const poll = async () => {
    if (polling || document.visibilityState !== 'visible' || page.disposed) return;
    polling = true;
    try {
      const answer = await api(`/v1/dashboards/${seg(page.name)}/versions`, { signal: page.controller.signal });
      const now = answer.tables || {};
      if (versions) {
        const changed = new Set(Object.keys(now).filter((t) => now[t] !== versions[t]));
        for (const v of watched) if (reads(v, changed)) page.visuals.get(v.id).run({ refresh: true });
      }
      versions = now;
    } catch (error) {
      if (!isAbort(error)) console.warn('versions:', error.message);
    } finally {
      polling = false;
    }
  };
  if (watched.length) {
    poll();
    page.timers.push(setInterval(poll, 1000));
  }
  for (const v of visuals) {
    const r = v.refresh || {};
    if (r.mode === 'interval' && r.seconds > 0) {
      page.timers.push(setInterval(() => {
        if (document.visibilityState === 'visible') page.visuals.get(v.id).run({ refresh: true });
      }, r.seconds * 1000));
    }
  }
  page.onVisibility = () => {
    if (document.visibilityState === 'visible') poll();
  };
  document.addEventListener('visibilitychange', page.onVisibility);
}
