// Console.Login: with server.auth set, the pages ask for the token, work once it is given, keep it in
// sessionStorage only, and never put it in a URL (neither the page's nor any request's).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as h from './harness.mjs';

const token = 'console-test-token-0123456789abcdef';
let stack, browser;
before(async () => {
  stack = await h.startStack({ name: 'login', token, extraDashboards: h.testDashboards });
  await stack.loadExampleData({ sources: ['posts', 'comments'], tables: ['posts', 'comments'] });
  browser = await h.launchBrowser({ name: 'login' });
});
after(() => h.closeAll(browser, stack));

test('the pages ask for the token and work after it is given', async () => {
  // The API refuses a request without it; health and the static files do not need it.
  assert.equal((await fetch(`${stack.base}/v1/dashboards`)).status, 401);
  assert.equal((await fetch(`${stack.base}/ui/`)).status, 200);

  await h.withPage(browser, 'login', async (page) => {
    const urls = [];
    page.on('request', (r) => urls.push(r.url()));
    page.on('framenavigated', (f) => urls.push(f.url()));
    const unauthorized = [];
    page.on('response', (r) => { if (r.status() === 401) unauthorized.push(r.url()); });

    await page.goto(`${stack.base}/ui/#/dashboards/console_test`);
    await page.waitForSelector('form#login-form input#token[type="password"]', { timeout: 10000 });
    assert.match(await page.evaluate(() => location.hash), /^#\/login/);
    assert.equal(await page.getAttribute('input#token', 'id'), 'token');
    const label = await page.evaluate(() => document.querySelector('input#token').labels?.[0]?.textContent
      || document.querySelector('input#token').getAttribute('aria-label'));
    assert.match(label || '', /token/i, 'the input is labelled Token');

    // A wrong token keeps the login form.
    await page.fill('input#token', 'wrong-token-wrong-token-wrong');
    await page.click('form#login-form button:has-text("Sign in")');
    await page.waitForTimeout(1000);
    assert.equal(await page.locator('form#login-form').count(), 1, 'still on the login form after a wrong token');

    await page.fill('input#token', token);
    await page.click('form#login-form button:has-text("Sign in")');
    await page.waitForSelector('main[data-page="dashboard"][data-dashboard="console_test"], main[data-page]:not([data-page="login"])', { timeout: 10000 });
    // Wherever it lands, the dashboard now renders with the token.
    if (!(await page.evaluate(() => location.hash)).startsWith('#/dashboards/console_test')) {
      await page.evaluate(() => { location.hash = '#/dashboards/console_test'; });
    }
    await page.waitForSelector('main[data-page="dashboard"][data-dashboard="console_test"]');
    const visuals = await h.waitVisualsSettled(page);
    assert.ok(visuals.length >= 3);
    // Another page works too.
    await page.click('nav >> text=Query');
    await page.waitForSelector('main[data-page="query"] .cm-editor');

    const stored = await page.evaluate(() => Object.keys(sessionStorage).map((k) => sessionStorage.getItem(k)));
    assert.ok(stored.some((v) => v && v.includes(stack.token)), 'the token is kept in sessionStorage');
    const local = await page.evaluate(() => Object.keys(localStorage).map((k) => localStorage.getItem(k)));
    assert.ok(!local.some((v) => v && v.includes(stack.token)), 'the token is not in localStorage');
    assert.ok(urls.length > 3);
    for (const u of urls) assert.ok(!u.includes(stack.token) && !u.includes(encodeURIComponent(stack.token)), `token in URL ${u}`);
    const cookies = await browser.context.cookies();
    assert.ok(!cookies.some((c) => c.value.includes(stack.token)), 'the token is not in a cookie');
  });
  assert.deepEqual(browser.problems.csp, [], 'Content-Security-Policy violations');
});
