// Console.DashboardInteract: a dropdown filter and a drill-down (a click in a visual's table view,
// as a click on a bar does) set a parameter, and the other visuals that use it re-render with the
// data the API gives for that value.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as h from './harness.mjs';

const name = 'console_test';
let stack, browser, dashboard;
before(async () => {
  stack = await h.startStack({ name: 'interact', extraDashboards: h.testDashboards });
  await stack.loadExampleData({ sources: ['users', 'posts', 'comments'], tables: ['users', 'posts', 'comments'] });
  browser = await h.launchBrowser({ name: 'interact' });
  dashboard = await stack.json('GET', `/v1/dashboards/${name}`);
});
after(() => h.closeAll(browser, stack));

const visualsUsing = (parameter) => dashboard.sheets[0].visuals.filter((v) => (v.parameters || []).includes(parameter));

// Waits until every visual using `parameter` rendered again after `before` and shows the marks the
// API gives for `value`; returns the marks shown.
async function expectRerendered(page, parameter, value, before) {
  const affected = visualsUsing(parameter);
  assert.ok(affected.length >= 2, 'the test dashboard has visuals using the parameter');
  const want = {};
  for (const v of affected) want[v.id] = h.expectedMarks(v, await h.visualData(stack, name, v.id, { [parameter]: value }));
  await h.waitRerendered(page, want, before, 15000);
  return want;
}

const renders = async (page) => Object.fromEntries((await h.visualStates(page)).map((v) => [v.id, v.renders]));

test('a dropdown filter re-runs the visuals that use it', async () => {
  await h.withPage(browser, 'filter', async (page) => {
    await h.openConsole(page, stack, `#/dashboards/${name}`);
    const initial = await h.waitVisualsSettled(page);
    const { values } = await stack.json('GET', `/v1/dashboards/${name}/parameters/user/values`);
    const [[expectedUsers]] = await stack.query('SELECT count(DISTINCT user_id) FROM posts');
    assert.equal(values.length, Number(expectedUsers));
    const choice = values[2];
    const select = page.locator('[data-parameter="user"] select');
    const options = await select.locator('option').allTextContents();
    for (const v of values) assert.ok(options.includes(v), `option ${v} offered`);
    await select.selectOption(choice);
    const want = await expectRerendered(page, 'user', choice, await renders(page));
    // The filter changed what they show.
    for (const [id, marks] of Object.entries(want)) {
      assert.notEqual(marks, initial.find((v) => v.id === id).marks, `${id} changed with the filter`);
    }
    // The visual that does not use the parameter was left alone.
    const unaffected = (await h.visualStates(page)).find((v) => v.id === 'posts_per_user');
    assert.equal(unaffected.renders, initial.find((v) => v.id === 'posts_per_user').renders);
  });
});

test('a drill-down from a bar sets the parameter the other visuals use', async () => {
  await h.withPage(browser, 'drill', async (page) => {
    await h.openConsole(page, stack, `#/dashboards/${name}`);
    await h.waitVisualsSettled(page);
    const drillVisual = page.locator('section.visual[data-visual-id="posts_per_user"]');
    await drillVisual.locator('button[data-action="table"]').click();
    const buttons = drillVisual.locator('button[data-drill-value]');
    const [[users]] = await stack.query('SELECT count(DISTINCT user_id) FROM posts');
    await page.waitForFunction((n) => document.querySelectorAll(
      'section.visual[data-visual-id="posts_per_user"] button[data-drill-value]').length === n, Number(users));
    const value = await buttons.nth(4).getAttribute('data-drill-value');
    const before = await renders(page);
    await buttons.nth(4).click();
    await expectRerendered(page, 'user', value, before);
    assert.equal(await page.locator('[data-parameter="user"] select').inputValue(), value, 'the dropdown shows the drilled value');
  });
  assert.deepEqual(browser.problems.csp, [], 'Content-Security-Policy violations');
  assert.deepEqual(browser.problems.errors, [], 'uncaught errors in the page');
});
