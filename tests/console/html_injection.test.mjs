// Console.HtmlInjection: a record value `<img src=x onerror=alert(1)>` travels stream → delivery →
// processor → catalog and shows as text in a dashboard table and in the query console's grid: no
// dialog opens and no img element is created from it.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as h from './harness.mjs';

const hostile = '<img src=x onerror=alert(1)>';
let stack, browser;
before(async () => {
  stack = await h.startStack({ name: 'html-injection', extraDashboards: h.testDashboards });
  await stack.loadExampleData();
  const { results } = await (await fetch(`${stack.fixtureBase}/api/?results=1&seed=hostile`)).json();
  results[0].name.first = hostile;
  results[0].location.country = `<script>alert(2)</script>`;
  await stack.json('POST', '/v1/streams/GETrandomUserAPI/records', results);
  await h.waitFor('the hostile record in random_users', async () => {
    const [[n]] = await stack.query(`SELECT count(*) FROM random_users WHERE name_first = '${hostile}'`);
    return Number(n) === 1;
  }, { timeout: 30000, interval: 250 });
  browser = await h.launchBrowser({ name: 'html-injection' });
});
after(() => h.closeAll(browser, stack));

async function assertNoInjection(page) {
  assert.equal(await page.locator('img[src="x"]').count(), 0, 'no img element from the data');
  assert.equal(await page.evaluate(() => [...document.scripts].filter((s) => s.textContent.includes('alert(2)')).length), 0);
  assert.deepEqual(browser.problems.dialogs, [], 'no dialog opened');
}

test('a hostile value shows as text in a dashboard table', async () => {
  await h.withPage(browser, 'html-injection-dashboard', async (page) => {
    await h.openConsole(page, stack, '#/dashboards/console_errors');
    await h.waitVisualsSettled(page, { allowError: true });
    const cell = page.locator('section.visual[data-visual-id="first_names"] td', { hasText: hostile });
    await cell.first().waitFor({ timeout: 10000 });
    assert.equal((await cell.first().textContent()).trim(), hostile);
    await page.waitForTimeout(500); // an onerror would have fired by now
    await assertNoInjection(page);
  });
});

test('a hostile value shows as text in the query console', async () => {
  await h.withPage(browser, 'html-injection-query', async (page) => {
    await h.openConsole(page, stack, '#/query');
    await page.waitForSelector('.cm-editor');
    await h.typeSql(page, 'SELECT name_first, location_country FROM random_users ORDER BY name_first');
    await page.click('button[data-action="run"]');
    const cell = page.locator('table.results td', { hasText: hostile });
    await cell.first().waitFor({ timeout: 15000 });
    assert.equal((await cell.first().textContent()).trim(), hostile);
    assert.equal(await page.locator('table.results td', { hasText: '<script>alert(2)</script>' }).count(), 1);
    await page.waitForTimeout(500);
    await assertNoInjection(page);
  });
  assert.deepEqual(browser.problems.csp, [], 'Content-Security-Policy violations');
});
