// Console.QueryConsole: a query over a 10,000-row table typed into the editor runs; the grid holds
// one page at a time, pages forward and back with the same rows the API's paging gives, the history
// lists it, and the downloaded CSV is the API's result CSV byte for byte.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import * as h from './harness.mjs';

const kRows = 10000;
let stack, browser;
before(async () => {
  stack = await h.startStack({ name: 'query' });
  // One JSON Lines object under processed/: the crawler makes it the table ten_k.
  const lines = [];
  for (let i = 0; i < kRows; ++i) lines.push(JSON.stringify({ n: i, label: `row ${i}`, grp: i % 7 }));
  await stack.putObject('sluice-demo', 'processed/ten_k/part-0.jsonl', `${lines.join('\n')}\n`);
  await h.waitFor('table ten_k', async () => (await stack.tables()).includes('ten_k'), { timeout: 30000 });
  await stack.waitIdle();
  browser = await h.launchBrowser({ name: 'query' });
});
after(() => h.closeAll(browser, stack));

const digits = (text) => (text.match(/\d[\d,.\u202f\u00a0 ]*\d|\d/g) || []).map((s) => Number(s.replace(/[^\d]/g, '')));
// Opens a closed <details> with a click on its summary, as a user would.
async function openDetails(details) {
  if (!(await details.evaluate((d) => d.open))) await details.locator(':scope > summary').click();
}
const gridRows = (page) => page.$$eval('table.results tbody tr', (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)));

test('runs a query, pages through 10,000 rows and downloads the CSV', async () => {
  const sql = 'SELECT n, label, grp FROM ten_k ORDER BY n';
  await h.withPage(browser, 'query', async (page) => {
    await h.openConsole(page, stack, '#/query');
    await page.waitForSelector('main[data-page="query"] .cm-editor');
    // The catalog tree lists the table and its columns with types.
    await page.waitForSelector('.catalog-tree details[data-table="my_glue_database.ten_k"]');
    const table = await stack.json('GET', '/v1/catalog/databases/my_glue_database/tables/ten_k');
    await openDetails(page.locator('.catalog-tree details[data-database="my_glue_database"]'));
    await openDetails(page.locator('.catalog-tree details[data-table="my_glue_database.ten_k"]'));
    for (const c of table.columns) {
      const text = await page.locator(`.catalog-tree details[data-table="my_glue_database.ten_k"] li[data-column="${c.name}"]`).textContent();
      assert.ok(text.includes(c.type), `column ${c.name} shows its type ${c.type}: ${text}`);
    }

    await h.typeSql(page, sql);
    await page.click('button[data-action="run"]');
    await page.waitForFunction((n) => /\d/.test(document.querySelector('.page-info')?.textContent || '') &&
      (document.querySelector('.page-info').textContent.replace(/[^\d]/g, '').endsWith(String(n))), kRows, { timeout: 30000 });
    const [first, last, total] = digits(await page.textContent('.page-info'));
    assert.equal(total, kRows, 'page info total');
    assert.equal(first, 1);
    const pageSize = last - first + 1;
    assert.ok(pageSize > 1 && pageSize < kRows, `a page, not everything (${pageSize} rows)`);
    assert.deepEqual(await page.$$eval('table.results thead th', (ths) => ths.map((t) => t.textContent.trim())), ['n', 'label', 'grp']);

    // The query's id from the history (newest first), and its pages from the API.
    const queryId = await page.locator('ul.history > li[data-query-id]').first().getAttribute('data-query-id');
    const history = await stack.json('GET', '/v1/queries?limit=5');
    assert.equal(history[0].query_id, queryId);
    assert.equal(history[0].sql.trim(), sql);
    const page1 = await stack.json('GET', `/v1/queries/${queryId}/results?max_rows=${pageSize}`);
    const page2 = await stack.json('GET', `/v1/queries/${queryId}/results?max_rows=${pageSize}&next_token=${encodeURIComponent(page1.next_token)}`);
    const cells = (rows) => rows.map((r) => r.map((v) => v ?? ''));
    assert.deepEqual(await gridRows(page), cells(page1.rows));

    await page.click('button[data-action="next-page"]');
    await page.waitForFunction((n) => document.querySelector('table.results tbody tr td')?.textContent === String(n), pageSize);
    assert.deepEqual(await gridRows(page), cells(page2.rows));
    assert.deepEqual(digits(await page.textContent('.page-info')), [pageSize + 1, 2 * pageSize, kRows]);
    await page.click('button[data-action="prev-page"]');
    await page.waitForFunction(() => document.querySelector('table.results tbody tr td')?.textContent === '0');
    assert.deepEqual(await gridRows(page), cells(page1.rows));

    const [download] = await Promise.all([page.waitForEvent('download'), page.click('button[data-action="download-csv"]')]);
    assert.equal(download.suggestedFilename(), `${queryId}.csv`);
    const csv = readFileSync(await download.path(), 'utf8');
    const fromApi = await stack.api('GET', `/v1/queries/${queryId}/results.csv`, undefined, { raw: true });
    assert.equal(fromApi.status, 200);
    assert.equal(csv, fromApi.text);
    assert.equal(csv.trim().split('\n').length, kRows + 1);
  });
  assert.deepEqual(browser.problems.csp, [], 'Content-Security-Policy violations');
  assert.deepEqual(browser.problems.errors, [], 'uncaught errors in the page');
});

test('a failing query shows its error', async () => {
  await h.withPage(browser, 'query-error', async (page) => {
    await h.openConsole(page, stack, '#/query');
    await page.waitForSelector('.cm-editor');
    await h.typeSql(page, 'SELECT no_such_column FROM ten_k');
    await page.click('button[data-action="run"]');
    await page.waitForSelector('.query-error', { state: 'visible' });
    const expected = await stack.api('POST', '/v1/query', { sql: 'SELECT no_such_column FROM ten_k' });
    assert.equal(expected.status, 400);
    assert.ok((await page.textContent('.query-error')).includes(expected.body.error.split('\n')[0].slice(0, 60)));
  });
});

test('a saved query becomes a visual whose YAML sluice validate accepts against the catalog', async () => {
  const sql = 'SELECT grp, count(*) AS n FROM ten_k GROUP BY grp ORDER BY grp';
  let yaml;
  await h.withPage(browser, 'query-make-visual', async (page) => {
    await h.openConsole(page, stack, '#/query');
    await page.waitForSelector('.cm-editor');
    await h.typeSql(page, sql);
    await page.fill('input#save-name', 'groups');
    await page.click('button[data-action="save"]');
    await page.waitForFunction(() => [...document.querySelectorAll('ul.saved > li')].some((li) => /groups/.test(li.textContent)));
    await page.click('button[data-action="run"]');
    await page.waitForFunction(() => document.querySelectorAll('table.results tbody tr').length === 7);
    await page.click('button[data-action="make-visual"]');
    await page.selectOption('#make-visual-type', 'bar');
    await page.waitForFunction(() => /type: bar/.test(document.querySelector('pre.visual-yaml')?.textContent || ''));
    yaml = await page.textContent('pre.visual-yaml');
  });
  assert.match(yaml, /fields: \{x: grp, y: n\}/);
  // The YAML as the page gives it, under a sheet of a pipeline file on the daemon's data directory:
  // sluice validate parses it and binds its SQL and fields against the catalog.
  const indented = yaml.split('\n').map((l) => (l ? `          ${l}` : l)).join('\n');
  const file = path.join(stack.dir, 'made.yaml');
  writeFileSync(file, `data_dir: ${JSON.stringify(path.join(stack.dir, 'data'))}\nbuckets: [sluice-demo]\n` +
    `query: {database: my_glue_database}\ndashboards:\n  made:\n    sheets:\n      - title: Made\n        visuals:\n${indented}`);
  const run = spawnSync(h.sluiceBin, ['validate', file], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /1 dashboards/);
  // The same with a column the table lacks is refused: the check above is not vacuous.
  writeFileSync(file, readFileSync(file, 'utf8').replace('SELECT grp,', 'SELECT grp_nope AS grp,'));
  const bad = spawnSync(h.sluiceBin, ['validate', file], { encoding: 'utf8' });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr + bad.stdout, /grp_nope/);
});
