// #/query: the Athena-console page. SQL editor (CodeMirror 6, completion from the catalog), run and
// cancel, results one page at a time (forward tokens kept on a stack to go back), CSV download,
// history, the catalog tree, saved queries (localStorage) and "make a visual" from the result.
import { api, ApiError, isAbort, seg } from '../api.js';
import { announce, el, formatBytes, formatNumber, formatTime } from '../dom.js';
import { downloadQueryCsv } from '../export.js';
import { createEditor } from '../query/editor.js';
import { createCatalogTree } from '../query/catalog.js';
import { createVisualMaker } from '../query/make_visual.js';

const PAGE_SIZE = 100;
const SAVED_KEY = 'sluice.saved-queries';

export function render(main) {
  main.dataset.page = 'query';
  const page = { controller: new AbortController(), run: null, query: null, tokens: [], page: null };

  const editorHost = el('div', { class: 'editor-host' });
  const database = el('select', { id: 'query-database', name: 'database' }, el('option', { value: '', text: 'default' }));
  const runButton = el('button', { type: 'button', class: 'primary', 'data-action': 'run', text: 'Run' });
  const cancelButton = el('button', { type: 'button', 'data-action': 'cancel', text: 'Cancel', disabled: true });
  const saveName = el('input', { id: 'save-name', type: 'text', name: 'save-name', placeholder: 'query name' });
  const saveButton = el('button', { type: 'button', 'data-action': 'save', text: 'Save' });
  const stateText = el('p', { class: 'query-state', role: 'status' });
  const errorText = el('p', { class: 'query-error', role: 'alert', hidden: true });
  const results = el('table', { class: 'results data-table' }, el('thead'), el('tbody'));
  const prev = el('button', { type: 'button', 'data-action': 'prev-page', text: 'Previous', disabled: true });
  const next = el('button', { type: 'button', 'data-action': 'next-page', text: 'Next', disabled: true });
  const pageInfo = el('span', { class: 'page-info', 'aria-live': 'polite' });
  const csvButton = el('button', { type: 'button', 'data-action': 'download-csv', text: 'Download CSV', disabled: true });
  const makeVisualButton = el('button', { type: 'button', 'data-action': 'make-visual', 'aria-expanded': 'false', text: 'Make a visual', disabled: true });
  const history = el('ul', { class: 'history' });
  const saved = el('ul', { class: 'saved' });
  const makerHost = el('div', { class: 'visual-maker', hidden: true });

  const editor = createEditor(editorHost, { onRun: () => runQuery() });
  const catalog = createCatalogTree({
    signal: page.controller.signal,
    onSchema: (schema, databases) => {
      editor.setSchema(schema);
      const current = database.value;
      database.replaceChildren(el('option', { value: '', text: 'default' }), ...databases.map((d) => el('option', { value: d, text: d })));
      database.value = current;
    },
  });
  const maker = createVisualMaker(makerHost);

  main.append(
    el('h1', { class: 'visually-hidden', text: 'Query console' }),
    el('div', { class: 'query-layout' },
      el('aside', { class: 'query-side', 'aria-label': 'Catalog and history' },
        el('h2', { text: 'Catalog' }), catalog.root,
        el('h2', { text: 'Saved queries' }), saved,
        el('h2', { text: 'History' }), history),
      el('div', { class: 'query-main' },
        el('div', { class: 'editor-label', id: 'sql-label', text: 'SQL (Ctrl+Enter runs)' }), editorHost,
        el('div', { class: 'toolbar', role: 'toolbar', 'aria-label': 'Query' },
          el('label', { for: 'query-database', text: 'Database' }), database,
          runButton, cancelButton,
          el('label', { for: 'save-name', class: 'visually-hidden', text: 'Saved query name' }), saveName, saveButton),
        stateText, errorText,
        el('section', { class: 'results-box', 'aria-label': 'Results' },
          el('div', { class: 'toolbar' }, prev, pageInfo, next, csvButton, makeVisualButton),
          el('div', { class: 'table-scroll', tabindex: '0', role: 'region', 'aria-label': 'Result rows' }, results)),
        makerHost)),
  );

  const setState = (text) => {
    stateText.textContent = text;
  };
  const showError = (message) => {
    errorText.textContent = message;
    errorText.hidden = !message;
  };

  function clearResults() {
    page.query = null;
    page.page = null;
    page.nextToken = null;
    page.tokens = [];
    results.tHead.replaceChildren();
    results.tBodies[0].replaceChildren();
    delete results.dataset.queryId;
    pageInfo.textContent = '';
    prev.disabled = true;
    next.disabled = true;
    csvButton.disabled = true;
    makeVisualButton.disabled = true;
    makerHost.hidden = true;
    makeVisualButton.setAttribute('aria-expanded', 'false');
  }

  function drawPage(columns, rows) {
    const names = columns.map((c) => (typeof c === 'string' ? c : c.name));
    results.tHead.replaceChildren(el('tr', {}, names.map((n) => el('th', { scope: 'col', text: n }))));
    results.tBodies[0].replaceChildren(...rows.map((row) => el('tr', {}, row.map((v) => el('td', { class: v === null ? 'null' : null, text: v === null ? 'NULL' : String(v) })))));
    const index = page.tokens.length - 1;
    const first = index * PAGE_SIZE + 1;
    const total = page.query.row_count;
    pageInfo.textContent = rows.length ? `Rows ${first}–${first + rows.length - 1} of ${total}` : 'No rows';
    prev.disabled = index === 0;
    next.disabled = !page.nextToken;
    page.page = { columns: page.query.columns.length ? page.query.columns : names.map((n) => ({ name: n, type: '' })), rows };
    if (!makerHost.hidden) maker.update(page.query, page.page);
  }

  async function loadPage(token) {
    const q = new URLSearchParams({ max_rows: String(PAGE_SIZE) });
    if (token) q.set('next_token', token);
    const answer = await api(`/v1/queries/${seg(page.query.query_id)}/results?${q}`, { signal: page.controller.signal });
    page.nextToken = answer.next_token || null;
    drawPage(answer.columns, answer.rows);
  }

  async function showResult(query) {
    page.query = query;
    page.tokens = [''];
    csvButton.disabled = false;
    makeVisualButton.disabled = false;
    await loadPage('');
  }

  async function runQuery() {
    const sqlText = editor.text().trim();
    if (!sqlText || page.run) return;
    showError('');
    clearResults();
    const controller = new AbortController();
    page.run = controller;
    runButton.disabled = true;
    cancelButton.disabled = false;
    setState('RUNNING…');
    announce('Query running');
    const started = performance.now();
    try {
      const body = { sql: sqlText, max_rows: 0 };
      if (database.value) body.database = database.value;
      const answer = await api('/v1/query', { method: 'POST', body, signal: controller.signal });
      setState(`SUCCEEDED · ${formatNumber(answer.row_count, 0)} rows · ${formatBytes(answer.bytes_scanned)} scanned · ${formatNumber(answer.execution_ms ?? performance.now() - started, 0)} ms`);
      announce('Query succeeded');
      // The history first, so that once the results show, the history lists their query too.
      await refreshHistory();
      await showResult({ ...answer, sql: sqlText });
      results.dataset.queryId = answer.query_id;
    } catch (error) {
      if (isAbort(error)) {
        setState('CANCELLED');
        announce('Query cancelled');
      } else {
        setState(error instanceof ApiError && error.body && error.body.state ? error.body.state : 'FAILED');
        showError(error.message);
        announce('Query failed');
      }
    } finally {
      page.run = null;
      runButton.disabled = false;
      cancelButton.disabled = true;
      if (!page.query) refreshHistory();
    }
  }

  runButton.addEventListener('click', runQuery);
  cancelButton.addEventListener('click', () => page.run && page.run.abort());
  next.addEventListener('click', async () => {
    if (!page.nextToken) return;
    page.tokens.push(page.nextToken);
    try {
      await loadPage(page.nextToken);
    } catch (error) {
      page.tokens.pop();
      if (!isAbort(error)) showError(error.message);
    }
  });
  prev.addEventListener('click', async () => {
    if (page.tokens.length < 2) return;
    page.tokens.pop();
    try {
      await loadPage(page.tokens[page.tokens.length - 1]);
    } catch (error) {
      if (!isAbort(error)) showError(error.message);
    }
  });
  csvButton.addEventListener('click', async () => {
    if (!page.query) return;
    try {
      await downloadQueryCsv(page.query.query_id, `${page.query.query_id}.csv`);
      announce('CSV downloaded');
    } catch (error) {
      showError(error.message);
    }
  });
  makeVisualButton.addEventListener('click', () => {
    const show = makerHost.hidden;
    makerHost.hidden = !show;
    makeVisualButton.setAttribute('aria-expanded', String(show));
    if (show && page.query) maker.update(page.query, page.page);
  });

  async function refreshHistory() {
    try {
      const items = await api('/v1/queries?limit=30', { signal: page.controller.signal });
      history.replaceChildren(...items.map((q) => el('li', { 'data-query-id': q.query_id, 'data-state': q.state },
        el('button', { type: 'button', class: 'history-item', onclick: () => openHistory(q) },
          el('span', { class: 'history-sql', text: q.sql.length > 120 ? `${q.sql.slice(0, 120)}…` : q.sql }),
          el('span', { class: `history-meta state-${String(q.state).toLowerCase()}` },
            el('span', { class: 'history-state', text: q.state }),
            el('span', { class: 'history-time', text: ` · ${formatTime(q.submitted)}` }),
            el('span', { class: 'history-bytes', text: ` · ${formatBytes(q.bytes_scanned)} scanned` }))))));
    } catch (error) {
      if (!isAbort(error)) history.replaceChildren(el('li', { class: 'error-text', text: `History unavailable: ${error.message}` }));
    }
  }

  async function openHistory(q) {
    editor.setText(q.sql);
    showError(q.error || '');
    setState(`${q.state} · ${formatNumber(q.rows, 0)} rows · ${formatBytes(q.bytes_scanned)} scanned`);
    if (q.state !== 'SUCCEEDED') return;
    try {
      await showResult({ query_id: q.query_id, columns: [], row_count: q.rows, sql: q.sql });
      results.dataset.queryId = q.query_id;
    } catch (error) {
      if (!isAbort(error)) showError(error.message);
    }
  }

  const readSaved = () => {
    try {
      return JSON.parse(localStorage.getItem(SAVED_KEY) || '[]');
    } catch {
      return [];
    }
  };
  const drawSaved = () => {
    const items = readSaved();
    saved.replaceChildren(...items.map((s, i) => el('li', {},
      el('button', { type: 'button', class: 'saved-load', onclick: () => editor.setText(s.sql), text: s.name }),
      el('button', { type: 'button', class: 'saved-delete', 'aria-label': `Delete saved query ${s.name}`, text: '✕',
        onclick: () => {
          const all = readSaved();
          all.splice(i, 1);
          localStorage.setItem(SAVED_KEY, JSON.stringify(all));
          drawSaved();
        } }))));
  };
  saveButton.addEventListener('click', () => {
    const sqlText = editor.text().trim();
    if (!sqlText) return;
    const name = saveName.value.trim() || sqlText.slice(0, 40);
    const all = readSaved().filter((s) => s.name !== name);
    all.unshift({ name, sql: sqlText });
    localStorage.setItem(SAVED_KEY, JSON.stringify(all));
    saveName.value = '';
    drawSaved();
    announce(`Saved ${name}`);
  });

  drawSaved();
  refreshHistory();
  return () => {
    page.controller.abort();
    if (page.run) page.run.abort();
    maker.dispose();
    editor.destroy();
  };
}
