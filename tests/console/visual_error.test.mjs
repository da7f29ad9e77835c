// Console.VisualError: a visual whose SQL fails shows the server's error inside itself, and the other
// visuals of the sheet render; the page stays usable (its CSV and table buttons still work).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as h from './harness.mjs';

let stack, browser;
before(async () => {
  stack = await h.startStack({ name: 'visual-error', extraDashboards: h.testDashboards });
  await stack.loadExampleData();
  browser = await h.launchBrowser({ name: 'visual-error' });
});
after(() => h.closeAll(browser, stack));

test('a visual with bad SQL shows its error and the others still render', async () => {
  const failing = await stack.api('POST', '/v1/dashboards/console_errors/visuals/broken/data', { parameters: {} });
  assert.equal(failing.status, 400);
  assert.ok(failing.body.error.length > 0);
  const dashboard = await stack.json('GET', '/v1/dashboards/console_errors');
  await h.withPage(browser, 'visual-error', async (page) => {
    await h.openConsole(page, stack, '#/dashboards/console_errors');
    const visuals = await h.waitVisualsSettled(page, { allowError: true });
    const broken = visuals.find((v) => v.id === 'broken');
    assert.equal(broken.state, 'error');
    assert.equal(broken.error.trim(), failing.body.error.trim());
    for (const v of dashboard.sheets[0].visuals.filter((v) => v.id !== 'broken')) {
      const shown = visuals.find((s) => s.id === v.id);
      assert.equal(shown.state, 'ready', `${v.id} renders beside the broken one`);
      assert.equal(shown.marks, h.expectedMarks(v, await h.visualData(stack, 'console_errors', v.id)), `marks of ${v.id}`);
    }
    // The rest of the page still works: a CSV of a working visual downloads.
    const [download] = await Promise.all([page.waitForEvent('download'),
      page.click('section.visual[data-visual-id="post_count"] button[data-action="csv"]')]);
    assert.equal(download.suggestedFilename(), 'post_count.csv');
  });
  assert.deepEqual(browser.problems.csp, [], 'Content-Security-Policy violations');
  assert.deepEqual(browser.problems.errors, [], 'uncaught errors in the page');
});
