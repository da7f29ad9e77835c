// Console.DashboardRender: every sheet of every dashboard of the example pipeline, and a dashboard of
// every other visual type (h.typesDashboard), renders every visual, each with the number of marks (or rows) the API's data for it implies, its alerts in the
// state the API evaluated, and no Content-Security-Policy violation on the way.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import * as h from './harness.mjs';

let stack, browser;
before(async () => {
  stack = await h.startStack({ name: 'render', extraDashboards: h.typesDashboard });
  await stack.loadExampleData();
  browser = await h.launchBrowser({ name: 'render' });
});
after(() => h.closeAll(browser, stack));

test('the fixture data reached the catalog as the example expects', async () => {
  // Independent of the API under test: what the fixture serves and the example's users processor keeps.
  const db = JSON.parse(readFileSync(path.join(h.repoRoot, 'tests', 'fixtures', 'jsonplaceholder', 'db.json'), 'utf8'));
  const [[users]] = await stack.query('SELECT count(*) FROM users');
  assert.equal(Number(users), db.users.filter((u) => u.id < 5).length);
  const [[posts]] = await stack.query('SELECT count(*) FROM posts');
  assert.equal(Number(posts), db.posts.length);
});

test('every visual of the example dashboards renders with the expected marks', async () => {
  const mine = new Set(['console_test', 'console_errors']);
  const list = (await stack.json('GET', '/v1/dashboards')).filter((d) => !mine.has(d.name));
  assert.ok(list.length > 0, 'the example pipeline declares no dashboard');
  for (const { name } of list) {
    const dashboard = await stack.json('GET', `/v1/dashboards/${encodeURIComponent(name)}`);
    for (let sheet = 0; sheet < dashboard.sheets.length; ++sheet) {
      const visuals = dashboard.sheets[sheet].visuals;
      const expected = new Map();
      for (const v of visuals) expected.set(v.id, { visual: v, data: await h.visualData(stack, name, v.id) });
      await h.withPage(browser, `${name}-sheet${sheet}`, async (page) => {
        await h.openConsole(page, stack, `#/dashboards/${encodeURIComponent(name)}/${sheet}`);
        await page.waitForSelector(`main[data-page="dashboard"][data-dashboard="${name}"]`);
        const shown = await h.waitVisualsSettled(page);
        assert.deepEqual(shown.map((v) => v.id).sort(), visuals.map((v) => v.id).sort(), `visuals of ${name} sheet ${sheet}`);
        for (const v of shown) {
          const { visual, data } = expected.get(v.id);
          assert.equal(v.type, visual.type, `type of ${name}/${v.id}`);
          assert.equal(v.marks, h.expectedMarks(visual, data), `marks of ${name}/${v.id} (${visual.type}, ${data.rows.length} rows)`);
          assert.ok(v.renders >= 1, `${name}/${v.id} rendered`);
          const alerts = await page.$$eval(`section.visual[data-visual-id="${v.id}"] .alert[data-alert]`,
            (els) => els.map((e) => ({ name: e.dataset.alert, state: e.dataset.state })));
          const want = (data.alerts || []).map((a) => ({ name: a.name, state: a.state }));
          assert.deepEqual(alerts.sort((a, b) => a.name.localeCompare(b.name)), want.sort((a, b) => a.name.localeCompare(b.name)),
            `alerts of ${name}/${v.id}`);
        }
        // Each visual's title is its h2.
        for (const visual of visuals) {
          const title = await page.textContent(`section.visual[data-visual-id="${visual.id}"] h2`);
          assert.equal(title.trim(), visual.title || visual.id);
        }
      });
    }
  }
  assert.deepEqual(browser.problems.csp, [], 'Content-Security-Policy violations');
  assert.deepEqual(browser.problems.errors, [], 'uncaught errors in the page');
});
