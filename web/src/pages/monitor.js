// #/monitor: the pipeline as its graph (GET /v1/pipeline) with live state, polled every 2 s while the
// page is visible; a node's details, trigger and re-process buttons; recent runs; quarantined inputs.
import { api, isAbort, seg } from '../api.js';
import { announce, el, formatBytes, formatNumber, formatTime, svg } from '../dom.js';

const KIND_ORDER = ['schedule', 'source', 'stream', 'delivery', 'processor', 'crawler', 'table', 'dashboard'];
const NODE_W = 150;
const NODE_H = 44;
const GAP_X = 40;
const GAP_Y = 16;

export function render(main) {
  main.dataset.page = 'monitor';
  const page = { controller: new AbortController(), graph: null, selected: null, timer: null, nodes: new Map() };
  const graphBox = el('div', { class: 'graph-box', 'aria-busy': 'true' });
  const detail = el('section', { class: 'node-detail', 'aria-live': 'polite', 'aria-label': 'Selected node' },
    el('p', { class: 'muted', text: 'Select a node (click, or Tab to it and press Enter) to see its figures.' }));
  const runsBody = el('tbody');
  const runs = el('table', { class: 'runs data-table' },
    el('caption', { text: 'Recent runs' }),
    el('thead', {}, el('tr', {}, ['Run', 'Kind', 'Name', 'Trigger', 'Status', 'Started', 'Records', 'Bytes', 'Error'].map((h) => el('th', { scope: 'col', text: h })))),
    runsBody);
  const message = el('p', { class: 'monitor-message', role: 'status' });
  main.append(
    el('h1', { text: 'Pipeline monitor' }), message,
    el('div', { class: 'monitor-layout' },
      el('section', { class: 'graph-section', 'aria-label': 'Pipeline graph' }, graphBox), detail),
    el('div', { class: 'table-scroll', tabindex: '0', role: 'region', 'aria-label': 'Recent runs' }, runs),
  );

  async function poll() {
    if (document.visibilityState !== 'visible') return;
    try {
      const [graph, recent] = await Promise.all([
        api('/v1/pipeline', { signal: page.controller.signal }),
        api('/v1/runs?limit=25', { signal: page.controller.signal }),
      ]);
      drawGraph(page, graph, graphBox, (id) => select(id));
      drawRuns(runsBody, recent);
      if (page.selected) showDetail(page.selected, false);
      graphBox.removeAttribute('aria-busy');
    } catch (error) {
      if (!isAbort(error)) message.textContent = `Could not read the pipeline: ${error.message}`;
    }
  }

  function select(id) {
    page.selected = id;
    for (const [nodeId, g] of page.nodes) g.setAttribute('aria-pressed', String(nodeId === id));
    showDetail(id, true);
  }

  async function showDetail(id, fresh) {
    const node = page.graph && page.graph.nodes.find((n) => n.id === id);
    if (!node) return;
    const focused = detail.contains(document.activeElement) ? document.activeElement.dataset.action : null;
    const items = Object.entries(node.detail || {}).map(([k, v]) => el('div', { class: 'kv' }, el('dt', { text: k }), el('dd', {}, valueNode(v))));
    const actions = el('div', { class: 'toolbar' });
    if (node.kind === 'source' || node.kind === 'crawler') {
      actions.append(el('button', { type: 'button', 'data-action': 'trigger', 'data-name': node.name, text: `Trigger ${node.name}`,
        onclick: () => act(`/v1/trigger/${seg(node.name)}`, `Triggered ${node.name}`) }));
    }
    const quarantined = node.kind === 'processor' ? Number((node.detail || {}).quarantined || 0) : 0;
    if (node.kind === 'processor') {
      actions.append(el('button', { type: 'button', 'data-action': 'reprocess', 'data-name': node.name, disabled: quarantined === 0,
        text: `Re-process ${quarantined} quarantined`, onclick: () => act(`/v1/processors/${seg(node.name)}/reprocess`, `Re-processing ${node.name}`) }));
    }
    const quarantine = el('ul', { class: 'quarantine', 'aria-label': 'Quarantined inputs' });
    detail.replaceChildren(
      el('h2', { text: `${node.kind} ${node.name}` }),
      el('p', {}, 'State: ', el('span', { class: `state state-${node.state}`, text: node.state })),
      el('dl', { class: 'detail-list' }, items), actions, node.kind === 'processor' ? quarantine : null);
    if (focused) detail.querySelector(`[data-action="${focused}"]`)?.focus();
    if (node.kind === 'processor' && (quarantined > 0 || fresh)) {
      try {
        const list = await api(`/v1/processors/${seg(node.name)}/quarantine`, { signal: page.controller.signal });
        quarantine.replaceChildren(...list.map((q) => el('li', {},
          el('span', { class: 'q-input', text: q.input }), ': ', el('span', { class: 'q-reason', text: q.reason }),
          q.attempts ? el('span', { class: 'muted', text: ` (${q.attempts} attempt${q.attempts === 1 ? '' : 's'})` }) : null)));
      } catch (error) {
        if (!isAbort(error)) quarantine.replaceChildren(el('li', { class: 'error-text', text: error.message }));
      }
    }
  }

  async function act(path, done) {
    try {
      await api(path, { method: 'POST', signal: page.controller.signal });
      message.textContent = done;
      announce(done);
    } catch (error) {
      if (!isAbort(error)) message.textContent = `${done.split(' ')[0]} failed: ${error.message}`;
    }
    poll();
  }

  poll();
  page.timer = setInterval(poll, 2000);
  return () => {
    clearInterval(page.timer);
    page.controller.abort();
  };
}

function valueNode(value) {
  if (value === null || value === undefined) return document.createTextNode('—');
  if (Array.isArray(value)) {
    return el('ul', { class: 'detail-array' }, value.map((v) => el('li', {}, valueNode(v))));
  }
  if (typeof value === 'object') {
    return el('dl', { class: 'detail-list nested' }, Object.entries(value).map(([k, v]) => el('div', { class: 'kv' }, el('dt', { text: k }), el('dd', {}, valueNode(v)))));
  }
  if (typeof value === 'number') return document.createTextNode(formatNumber(value));
  if (typeof value === 'string' && /^\d{4}-\d\d-\d\dT/.test(value)) return document.createTextNode(formatTime(value));
  return document.createTextNode(String(value));
}

// Lays the nodes out in columns by kind (the pipeline's order) and draws edges between them. Updates
// nodes in place when the graph's shape is unchanged, so focus stays where it is.
function drawGraph(page, graph, box, onSelect) {
  const shape = JSON.stringify([graph.nodes.map((n) => n.id), graph.edges]);
  const previous = page.graph;
  page.graph = graph;
  if (previous && page.shape === shape) {
    for (const node of graph.nodes) updateNode(page.nodes.get(node.id), node);
    return;
  }
  page.shape = shape;
  const columns = KIND_ORDER.map((kind) => graph.nodes.filter((n) => n.kind === kind)).filter((c) => c.length);
  const others = graph.nodes.filter((n) => !KIND_ORDER.includes(n.kind));
  if (others.length) columns.push(others);
  const position = new Map();
  columns.forEach((column, ci) => column.forEach((node, ri) => {
    position.set(node.id, { x: 8 + ci * (NODE_W + GAP_X), y: 8 + ri * (NODE_H + GAP_Y) });
  }));
  const width = 16 + columns.length * (NODE_W + GAP_X) - GAP_X;
  const height = 16 + Math.max(1, ...columns.map((c) => c.length)) * (NODE_H + GAP_Y) - GAP_Y;
  const edges = svg('g', { class: 'edges' }, graph.edges.filter((e) => position.has(e.from) && position.has(e.to)).map((e) => {
    const a = position.get(e.from);
    const b = position.get(e.to);
    const x1 = a.x + NODE_W;
    const y1 = a.y + NODE_H / 2;
    const x2 = b.x;
    const y2 = b.y + NODE_H / 2;
    const mid = (x1 + x2) / 2;
    return svg('path', { class: 'edge', d: `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}`, 'data-from': e.from, 'data-to': e.to });
  }));
  page.nodes = new Map();
  const nodes = svg('g', { class: 'nodes' }, graph.nodes.map((node) => {
    const p = position.get(node.id);
    const g = svg('g', { class: 'node', 'data-node-id': node.id, tabindex: '0', role: 'button', transform: `translate(${p.x},${p.y})`, 'aria-pressed': String(page.selected === node.id) },
      svg('rect', { width: NODE_W, height: NODE_H, rx: 6 }),
      svg('text', { x: 10, y: 17, class: 'node-kind' }),
      svg('text', { x: 10, y: 34, class: 'node-name' }),
      svg('circle', { cx: NODE_W - 12, cy: 12, r: 5, class: 'node-dot' }));
    g.addEventListener('click', () => onSelect(node.id));
    g.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' || event.key === ' ') {
        event.preventDefault();
        onSelect(node.id);
      }
    });
    page.nodes.set(node.id, g);
    updateNode(g, node);
    return g;
  }));
  const chart = svg('svg', { class: 'pipeline-graph', width, height, viewBox: `0 0 ${width} ${height}`, role: 'group', 'aria-label': 'Pipeline graph' },
    svg('title', { text: 'Pipeline graph' }), edges, nodes);
  box.replaceChildren(chart);
  if (!graph.nodes.length) box.append(el('p', { class: 'muted', text: 'The pipeline declares nothing yet.' }));
}

function updateNode(g, node) {
  if (!g) return;
  g.setAttribute('data-state', node.state);
  const [kind, name] = g.querySelectorAll('text');
  kind.textContent = `${node.kind} · ${node.state}`;
  name.textContent = node.name.length > 18 ? `${node.name.slice(0, 17)}…` : node.name;
}

function drawRuns(body, runs) {
  body.replaceChildren(...runs.map((r) => el('tr', { 'data-run-id': r.run_id ?? r.id, 'data-status': r.status },
    el('td', { text: r.run_id ?? r.id }), el('td', { text: r.kind }), el('td', { text: r.name }), el('td', { text: r.trigger || '' }),
    el('td', { class: `status state-${String(r.status).toLowerCase()}`, text: r.status }),
    el('td', { text: formatTime(r.started) }), el('td', { class: 'num', text: formatNumber(r.records, 0) }),
    el('td', { class: 'num', text: formatBytes(r.bytes) }), el('td', { class: 'run-error', text: r.error || '' }))));
}
