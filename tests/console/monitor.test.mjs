// Console.Monitor: the pipeline graph has one node per node of GET /v1/pipeline; triggering a source
// from the page makes a run that shows in the recent runs; an object a processor cannot read shows
// among the quarantined objects with its reason.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as h from './harness.mjs';

let stack, browser;
before(async () => {
  stack = await h.startStack({ name: 'monitor' });
  await stack.loadExampleData({ sources: ['posts'], tables: ['posts'] });
  browser = await h.launchBrowser({ name: 'monitor' });
});
after(() => h.closeAll(browser, stack));

test('the graph, a triggered run and a quarantined object', async () => {
  await h.withPage(browser, 'monitor', async (page) => {
    await h.openConsole(page, stack, '#/monitor');
    await page.waitForSelector('main[data-page="monitor"] svg g.node');
    const graph = await stack.json('GET', '/v1/pipeline');
    await page.waitForFunction((n) => document.querySelectorAll('svg g.node[data-node-id]').length === n, graph.nodes.length);
    const ids = await page.$$eval('svg g.node[data-node-id]', (gs) => gs.map((g) => g.dataset.nodeId));
    assert.deepEqual(ids.sort(), graph.nodes.map((n) => n.id).sort());
    for (const n of graph.nodes.filter((n) => n.kind === 'processor' || n.kind === 'table')) {
      assert.ok(['ok', 'running', 'failed', 'idle'].includes(await page.getAttribute(`g.node[data-node-id="${n.id}"]`, 'data-state')));
    }

    // Trigger the users source from its node's panel.
    const runsBefore = await stack.json('GET', '/v1/runs?limit=50');
    const newest = Math.max(0, ...runsBefore.map((r) => Number(r.run_id)));
    await page.click('g.node[data-node-id="source:users"]');
    await page.waitForSelector('.node-detail');
    await page.click('button[data-action="trigger"][data-name="users"]');
    const run = await h.waitFor('a new run of users', async () => {
      const runs = await stack.json('GET', '/v1/runs?limit=50');
      return runs.find((r) => Number(r.run_id) > newest && r.name === 'users' && r.status !== 'running');
    }, { timeout: 20000 });
    assert.equal(run.status, 'succeeded');
    const row = page.locator(`table.runs tbody tr[data-run-id="${run.run_id}"]`);
    await row.waitFor({ timeout: 15000 });
    await page.waitForFunction((id) => /succeeded/i.test(document.querySelector(`table.runs tbody tr[data-run-id="${id}"]`)?.textContent || ''),
      String(run.run_id), { timeout: 15000 });

    // An object the users processor cannot parse is quarantined, and the page shows it and why.
    await stack.putObject('sluice-demo', 'raw/users/broken_upload.json', '{"this is": not json');
    const failed = await h.waitFor('the quarantined object', async () => {
      const q = await stack.json('GET', '/v1/processors/users/quarantine');
      return q.find((f) => f.input.endsWith('raw/users/broken_upload.json'));
    }, { timeout: 20000 });
    await page.click('g.node[data-node-id="processor:users"]');
    const item = page.locator('ul.quarantine li', { hasText: 'broken_upload.json' });
    await item.waitFor({ timeout: 15000 });
    const text = await item.textContent();
    assert.ok(text.includes(failed.reason.slice(0, 40)), `the reason is shown: ${text}`);
    await page.waitForSelector('button[data-action="reprocess"][data-name="users"]');
  });
  assert.deepEqual(browser.problems.csp, [], 'Content-Security-Policy violations');
  assert.deepEqual(browser.problems.errors, [], 'uncaught errors in the page');
});
