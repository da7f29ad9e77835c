// Console.NarrowScreen: at 390 px wide (a phone) the dashboard, query and monitor pages have no
// horizontal page scroll; wide content scrolls inside its own box.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as h from './harness.mjs';

let stack, browser, example;
before(async () => {
  stack = await h.startStack({ name: 'narrow', extraDashboards: h.testDashboards });
  await stack.loadExampleData();
  browser = await h.launchBrowser({ name: 'narrow' });
  example = (await stack.json('GET', '/v1/dashboards')).map((d) => d.name);
});
after(() => h.closeAll(browser, stack));

const pageOverflow = (page) => page.evaluate(() => ({
  scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth,
  body: document.body.scrollWidth,
}));

test('no horizontal page scroll at 390 px', async () => {
  const pages = [...example.map((n) => `#/dashboards/${n}`), '#/dashboards', '#/query', '#/monitor'];
  for (const hash of pages) {
    await h.withPage(browser, `narrow-${hash.replace(/[^a-z0-9]+/gi, '_')}`, async (page) => {
      await h.openConsole(page, stack, hash);
      await page.waitForSelector('main[data-page]');
      if (hash.startsWith('#/dashboards/')) await h.waitVisualsSettled(page, { allowError: true });
      if (hash === '#/query') {
        await h.typeSql(page, 'SELECT * FROM comments ORDER BY id');
        await page.click('button[data-action="run"]');
        await page.waitForSelector('table.results tbody tr');
      }
      if (hash === '#/monitor') await page.waitForSelector('svg g.node');
      await page.waitForTimeout(300);
      const o = await pageOverflow(page);
      assert.ok(o.scroll <= o.client && o.body <= o.client, `${hash}: page is ${o.scroll} px wide in a ${o.client} px viewport`);
    }, { width: 390, height: 844 });
  }
});
