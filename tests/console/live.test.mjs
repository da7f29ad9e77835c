// Console.LiveVisual: records posted to the stream go through the delivery, the processor and the
// crawler, and every on_change visual of the example's sheet over random_users re-renders by itself
// with the marks the new data implies (no reload, no click).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as h from './harness.mjs';

let stack, browser;
before(async () => {
  stack = await h.startStack({ name: 'live' });
  await stack.loadExampleData();
  browser = await h.launchBrowser({ name: 'live' });
});
after(() => h.closeAll(browser, stack));

test('an on_change visual re-renders after records are posted to the stream', async () => {
  // The example's live visuals: on_change, reading the random users table.
  const dashboards = await stack.json('GET', '/v1/dashboards');
  const live = [];
  for (const { name } of dashboards) {
    const d = await stack.json('GET', `/v1/dashboards/${encodeURIComponent(name)}`);
    d.sheets.forEach((s, sheet) => s.visuals.forEach((v) => {
      if (v.refresh?.mode === 'on_change' && (v.tables || []).some((t) => /random_users$/.test(t))) live.push({ name, sheet, visual: v });
    }));
  }
  assert.ok(live.length > 0, 'the example has an on_change visual over random_users');
  const { name, sheet } = live[0];
  // Every on_change visual of that sheet must move (the whole sheet is the live one).
  const d = await stack.json('GET', `/v1/dashboards/${encodeURIComponent(name)}`);
  const onSheet = d.sheets[sheet].visuals.filter((v) => v.refresh?.mode === 'on_change').map((visual) => ({ visual }));

  await h.withPage(browser, 'live', async (page) => {
    await h.openConsole(page, stack, `#/dashboards/${encodeURIComponent(name)}/${sheet}`);
    const initial = await h.waitVisualsSettled(page);
    const rendersBefore = Object.fromEntries(initial.map((v) => [v.id, v.renders]));
    const [[countBefore]] = await stack.query('SELECT count(*) FROM random_users');

    // New random users (another seed of the fixture's randomuser stand-in), posted as a producer would.
    const fresh = await (await fetch(`${stack.fixtureBase}/api/?results=25&seed=live-test`)).json();
    const put = await stack.json('POST', '/v1/streams/GETrandomUserAPI/records', fresh.results);
    assert.equal(put.failed_record_count, 0);
    await h.waitFor('the new records in random_users', async () => {
      const [[n]] = await stack.query('SELECT count(*) FROM random_users');
      return Number(n) === Number(countBefore) + 25;
    }, { timeout: 30000, interval: 250 });

    const want = {};
    for (const { visual } of onSheet) want[visual.id] = h.expectedMarks(visual, await h.visualData(stack, name, visual.id));
    await h.waitRerendered(page, want, rendersBefore, 20000);
  });
  assert.deepEqual(browser.problems.csp, [], 'Content-Security-Policy violations');
});
