// Console.ExportRangeClick: a date range parameter's two inputs re-run the visuals that use it with
// the data the API gives for that range; a mouse click on a bar of the chart (not its table view)
// drills; the sheet downloads as a PNG image of the page's size.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import * as h from './harness.mjs';

const rangeDashboard = `
  console_range:
    title: Range
    parameters:
      period: {type: date_range, label: Period, default: all}
    sheets:
      - title: Comments
        visuals:
          comments_in_period:
            type: kpi
            sql: SELECT count(*) AS n FROM comments WHERE CAST(dt AS TIMESTAMP) BETWEEN {{period.start}} AND {{period.end}}
            fields: {value: n}
          posts_per_user:
            type: bar
            sql: SELECT CAST(user_id AS VARCHAR) AS u, count(*) AS posts FROM posts GROUP BY u ORDER BY u
            fields: {x: u, y: posts}
`;

let stack, browser;
before(async () => {
  stack = await h.startStack({ name: 'export-range', extraDashboards: rangeDashboard });
  await stack.loadExampleData({ sources: ['users', 'posts', 'comments'], tables: ['users', 'posts', 'comments'] });
  browser = await h.launchBrowser({ name: 'export-range' });
});
after(() => h.closeAll(browser, stack));

const kpi = (page, id) => page.$eval(`section.visual[data-visual-id="${id}"]`, (e) => ({
  renders: Number(e.dataset.renders), state: e.dataset.state, text: e.querySelector('.kpi-value').textContent.trim(),
}));

test('a date range narrows the visuals that use it as the API does', async () => {
  const all = await h.visualData(stack, 'console_range', 'comments_in_period');
  const none = await h.visualData(stack, 'console_range', 'comments_in_period',
    { period: { start: '2000-01-01T00:00:00.000Z', end: '2001-01-01T00:00:00.000Z' } });
  assert.ok(Number(all.rows[0][0]) > 0, 'the comments are there');
  assert.equal(none.rows[0][0], '0');
  await h.withPage(browser, 'range', async (page) => {
    await h.openConsole(page, stack, '#/dashboards/console_range');
    await h.waitVisualsSettled(page);
    const before = await kpi(page, 'comments_in_period');
    assert.equal(before.text, all.rows[0][0]);
    await page.fill('[data-parameter="period"] input[name="start"]', '2000-01-01T00:00');
    await page.fill('[data-parameter="period"] input[name="end"]', '2001-01-01T00:00');
    await page.waitForFunction((n) => {
      const e = document.querySelector('section.visual[data-visual-id="comments_in_period"]');
      return e.dataset.state === 'ready' && Number(e.dataset.renders) > n && e.querySelector('.kpi-value')?.textContent.trim() === '0';
    }, before.renders, { timeout: 15000 });
    // The bar chart does not use the parameter: not re-run.
    const bars = await page.$eval('section.visual[data-visual-id="posts_per_user"]', (e) => Number(e.dataset.renders));
    assert.equal(bars, 1);
  });
});

test('a mouse click on a bar drills, and the sheet downloads as a PNG', async () => {
  await h.withPage(browser, 'click-png', async (page) => {
    await h.openConsole(page, stack, '#/dashboards/jsonplaceholder');
    await h.waitVisualsSettled(page);
    const posts = await page.$eval('section.visual[data-visual-id="posts"]', (e) => Number(e.dataset.renders));
    // Four bars of equal height fill the plot: the middle of the first quarter of the plot is the
    // first user's bar (users sorted by name).
    const users = (await h.visualData(stack, 'jsonplaceholder', 'posts_per_user')).rows.map((r) => r[0]);
    const canvas = await page.$('section.visual[data-visual-id="posts_per_user"] canvas');
    await canvas.scrollIntoViewIfNeeded();
    const box = await canvas.boundingBox();  // in the viewport, where the mouse is
    const plotLeft = box.x + 40, plotWidth = box.width - 56;
    await page.mouse.click(plotLeft + plotWidth / 8, box.y + box.height * 0.6);
    await page.waitForFunction(({ n }) => {
      const e = document.querySelector('section.visual[data-visual-id="posts"]');
      return e.dataset.state === 'ready' && Number(e.dataset.renders) > n;
    }, { n: posts }, { timeout: 15000 });
    assert.equal(await page.$eval('[data-parameter="user"] select', (s) => s.value), users[0]);
    const expected = await h.visualData(stack, 'jsonplaceholder', 'posts', { user: users[0] });
    assert.equal(await page.$eval('section.visual[data-visual-id="posts"] .kpi-value', (e) => e.textContent.trim()),
      expected.rows[0][0]);

    const [download] = await Promise.all([page.waitForEvent('download'), page.click('button[data-action="png"]')]);
    assert.equal(download.suggestedFilename(), 'jsonplaceholder.png');
    const png = readFileSync(await download.path());
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a PNG signature');
    const width = png.readUInt32BE(16), height = png.readUInt32BE(20);  // IHDR
    const viewport = page.viewportSize();
    assert.ok(width >= viewport.width / 2 && height > 300, `a picture of the sheet, got ${width}×${height}`);
  });
  assert.deepEqual(browser.problems.csp, [], 'Content-Security-Policy violations');
  assert.deepEqual(browser.problems.errors, [], 'uncaught errors in the page');
});
