// Console.Accessibility: axe-core (from web/node_modules, evaluated in the page so the page's CSP
// stays as served) finds no serious or critical violation on the dashboard, query and monitor pages,
// and the browser reports no Content-Security-Policy violation on any of them.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import * as h from './harness.mjs';

let stack, browser, example, axeSource;
before(async () => {
  stack = await h.startStack({ name: 'a11y', extraDashboards: h.testDashboards });
  await stack.loadExampleData();
  browser = await h.launchBrowser({ name: 'a11y' });
  example = (await stack.json('GET', '/v1/dashboards')).map((d) => d.name);
  axeSource = readFileSync(h.webPackageFile('axe-core', 'axe.min.js'), 'utf8');
});
after(() => h.closeAll(browser, stack));

async function axeViolations(page) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
}

test('no serious or critical axe violation, no CSP violation', async () => {
  const pages = [...example.map((n) => `#/dashboards/${n}`), '#/dashboards', '#/query', '#/monitor'];
  const found = {};
  for (const hash of pages) {
    await h.withPage(browser, `a11y-${hash.replace(/[^a-z0-9]+/gi, '_')}`, async (page) => {
      await h.openConsole(page, stack, hash);
      await page.waitForSelector('main[data-page]');
      if (hash.startsWith('#/dashboards/')) await h.waitVisualsSettled(page, { allowError: true });
      if (hash === '#/query') {
        await h.typeSql(page, 'SELECT id, title FROM posts ORDER BY id');
        await page.click('button[data-action="run"]');
        await page.waitForSelector('table.results tbody tr');
      }
      if (hash === '#/monitor') await page.waitForSelector('svg g.node');
      await page.waitForTimeout(300);
      const cspBefore = browser.problems.csp.length;
      const v = await axeViolations(page);
      if (v.length) found[hash] = v;
      // axe itself must not be what breaks the policy: tell its share apart.
      await page.waitForTimeout(300);
      for (let i = cspBefore; i < browser.problems.csp.length; ++i) browser.problems.csp[i] = `(while axe ran) ${browser.problems.csp[i]}`;
    });
  }
  assert.deepEqual(found, {}, 'serious or critical accessibility violations');
  assert.deepEqual(browser.problems.csp, [], 'Content-Security-Policy violations');
  assert.deepEqual(browser.problems.errors, [], 'uncaught errors in the page');
});
