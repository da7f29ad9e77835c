// Console.Keyboard: the main pages work with the keyboard alone: Tab reaches a control, Enter uses it
// (open a dashboard from the list, drill into a bar from the table view, run a query, select a node
// of the monitor's graph); focus is visible.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as h from './harness.mjs';

let stack, browser;
before(async () => {
  stack = await h.startStack({ name: 'keyboard', extraDashboards: h.testDashboards });
  await stack.loadExampleData({ sources: ['posts', 'comments'], tables: ['posts', 'comments'] });
  browser = await h.launchBrowser({ name: 'keyboard' });
});
after(() => h.closeAll(browser, stack));

// Presses Tab until the focused element matches `selector` (at most `max` times); returns a
// description of the focused element.
async function tabTo(page, selector, max = 120) {
  for (let i = 0; i < max; ++i) {
    await page.keyboard.press('Tab');
    if (await page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector)) {
      return page.evaluate(() => document.activeElement.outerHTML.slice(0, 120));
    }
  }
  throw new Error(`${selector} not reached with ${max} presses of Tab`);
}

// Whether the focused element has a visible focus indicator (outline or box-shadow).
const focusVisible = (page) => page.evaluate(() => {
  const s = getComputedStyle(document.activeElement);
  return (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== 'none';
});

test('dashboards: open one from the list, drill from the table view', async () => {
  await h.withPage(browser, 'keyboard-dashboard', async (page) => {
    await h.openConsole(page, stack, '#/dashboards');
    await page.waitForSelector('a[href*="#/dashboards/console_test"]');
    await tabTo(page, 'a[href*="#/dashboards/console_test"]');
    assert.ok(await focusVisible(page), 'focus is visible on the link');
    await page.keyboard.press('Enter');
    await page.waitForSelector('main[data-page="dashboard"][data-dashboard="console_test"]');
    await h.waitVisualsSettled(page);
    await tabTo(page, 'section.visual[data-visual-id="posts_per_user"] button[data-action="table"]');
    await page.keyboard.press('Enter');
    await page.waitForSelector('section.visual[data-visual-id="posts_per_user"] button[data-drill-value]');
    const value = await tabTo(page, 'section.visual[data-visual-id="posts_per_user"] button[data-drill-value]')
      .then(() => page.evaluate(() => document.activeElement.dataset.drillValue));
    const before = await page.getAttribute('section.visual[data-visual-id="user_posts"]', 'data-renders');
    await page.keyboard.press('Enter');
    await page.waitForFunction((b) => Number(document.querySelector('section.visual[data-visual-id="user_posts"]').dataset.renders) > b
      && document.querySelector('section.visual[data-visual-id="user_posts"]').dataset.state === 'ready', Number(before));
    assert.equal(await page.locator('[data-parameter="user"] select').inputValue(), value);
  });
});

test('query: type a query, run it with Enter on the button', async () => {
  await h.withPage(browser, 'keyboard-query', async (page) => {
    await h.openConsole(page, stack, '#/query');
    await page.waitForSelector('.cm-editor');
    await tabTo(page, '.cm-content');
    await page.keyboard.press('Control+A'); // replaces what the editor holds
    await page.keyboard.type('SELECT id, title FROM posts ORDER BY id LIMIT 7');
    await page.keyboard.press('Escape'); // closes a completion list; Tab then leaves the editor
    await tabTo(page, 'button[data-action="run"]');
    assert.ok(await focusVisible(page), 'focus is visible on the run button');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.querySelectorAll('table.results tbody tr').length === 7, null, { timeout: 15000 });
  });
});

test('monitor: select a node with Enter', async () => {
  await h.withPage(browser, 'keyboard-monitor', async (page) => {
    await h.openConsole(page, stack, '#/monitor');
    await page.waitForSelector('svg g.node[data-node-id="source:posts"]');
    await tabTo(page, 'g.node[data-node-id="source:posts"]', 200);
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => /posts/.test(document.querySelector('.node-detail')?.textContent || ''));
    await tabTo(page, 'button[data-action="trigger"][data-name="posts"]', 200);
    const before = (await stack.json('GET', '/v1/runs?limit=100')).length;
    await page.keyboard.press('Enter');
    await h.waitFor('a run triggered with the keyboard', async () => (await stack.json('GET', '/v1/runs?limit=100')).length > before);
  });
  assert.deepEqual(browser.problems.errors, [], 'uncaught errors in the page');
});
