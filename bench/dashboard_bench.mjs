// Dashboard benchmark: a dashboard of 20 visuals over a 1,000,000-row table, in Debian's Chromium.
//
//   node bench/dashboard_bench.mjs [BUILD_DIR]      (SLUICE_BIN overrides the binary; BENCH_ROWS the rows)
//
// The rows are generated as JSON Lines objects, put through the S3 API under raw/events/, turned into
// Parquet by a processor and catalogued by the crawler (the pipeline's own path). Then, 5 times each:
//   - first render: navigation to the dashboard → every visual data-state=ready;
//   - refresh: a new object put (raw → processor → crawler) → every on_change visual re-rendered, split
//     into "until the table's version changed" (the pipeline) and the rest (the page: its /versions
//     poll every 2 s, the queries, the drawing);
//   - the same 20 queries through POST /v1/dashboards/.../data alone, all at once as the page sends
//     them, and one after another (so the page's share is visible).
// Prints the medians as a table and one JSON line.
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
if (!process.env.SLUICE_BIN && process.argv[2]) process.env.SLUICE_BIN = path.resolve(process.argv[2], 'src', 'cli', 'sluice');
process.env.SLUICE_ARTEFACTS ||= path.join(tmpdir(), 'sluice-dashboard-bench');
process.env.SLUICE_TEST_TIME_LIMIT_MS ||= String(40 * 60 * 1000); // the harness's limit is for tests
const h = await import(path.join(here, '..', 'tests', 'console', 'harness.mjs'));

const kRows = Number(process.env.BENCH_ROWS || 1_000_000);
const kObjects = 10;
const kRuns = 5;
const countries = ['FR', 'DE', 'ES', 'IT', 'GB', 'US', 'CA', 'BR', 'IN', 'JP', 'AU', 'NL', 'SE', 'NO', 'PL', 'MX'];
const categories = ['books', 'music', 'games', 'garden', 'tools', 'food', 'toys', 'sport'];
const centre = { FR: [46, 2], DE: [51, 10], ES: [40, -4], IT: [42, 12], GB: [54, -2], US: [39, -98], CA: [56, -106],
  BR: [-10, -55], IN: [21, 78], JP: [36, 138], AU: [-25, 133], NL: [52, 5], SE: [62, 15], NO: [61, 8], PL: [52, 19], MX: [23, -102] };

// Deterministic rows: a small linear congruential generator, so runs compare.
function rowsText(first, count) {
  let seed = first * 2654435761 % 4294967296;
  const next = () => (seed = (seed * 1664525 + 1013904223) % 4294967296) / 4294967296;
  const start = Date.UTC(2026, 0, 1);
  const lines = new Array(count);
  for (let i = 0; i < count; ++i) {
    const country = countries[Math.floor(next() * countries.length)];
    const [lat, lng] = centre[country];
    lines[i] = JSON.stringify({
      id: first + i, ts: new Date(start + Math.floor(next() * 300 * 86400000)).toISOString(),
      user: `u${Math.floor(next() * 5000)}`, country, category: categories[Math.floor(next() * categories.length)],
      amount: Math.round(next() * 50000) / 100, quantity: 1 + Math.floor(next() * 9),
      lat: lat + (next() - 0.5) * 4, lng: lng + (next() - 0.5) * 4, ok: next() > 0.05,
    });
  }
  return `${lines.join('\n')}\n`;
}

const t = 'events';
const visuals = {
  total_rows: ['kpi', `SELECT count(*) AS n FROM ${t}`, { value: 'n' }],
  revenue: ['kpi', `SELECT round(sum(amount), 2) AS revenue FROM ${t}`, { value: 'revenue' }],
  avg_basket: ['kpi', `SELECT round(avg(amount), 2) AS avg_amount FROM ${t}`, { value: 'avg_amount' }],
  users: ['kpi', `SELECT count(DISTINCT "user") AS users FROM ${t}`, { value: 'users' }],
  by_country: ['bar', `SELECT country, count(*) AS n FROM ${t} GROUP BY country ORDER BY n DESC`, { x: 'country', y: 'n' }],
  by_category: ['bar', `SELECT category, sum(amount) AS revenue FROM ${t} GROUP BY category ORDER BY category`, { x: 'category', y: 'revenue' }],
  stacked: ['stacked_bar', `SELECT country, category, count(*) AS n FROM ${t} GROUP BY country, category ORDER BY country, category`, { x: 'country', y: 'n', series: 'category' }],
  per_day: ['line', `SELECT CAST(CAST(ts AS TIMESTAMP) AS DATE) AS day, count(*) AS n FROM ${t} GROUP BY day ORDER BY day`, { x: 'day', y: 'n' }],
  revenue_per_day: ['area', `SELECT CAST(CAST(ts AS TIMESTAMP) AS DATE) AS day, sum(amount) AS revenue FROM ${t} GROUP BY day ORDER BY day`, { x: 'day', y: 'revenue' }],
  category_share: ['pie', `SELECT category, count(*) AS n FROM ${t} GROUP BY category`, { label: 'category', value: 'n' }],
  quantity_share: ['donut', `SELECT CAST(quantity AS VARCHAR) AS q, count(*) AS n FROM ${t} GROUP BY q ORDER BY q`, { label: 'q', value: 'n' }],
  top_orders: ['table', `SELECT id, "user", country, category, amount FROM ${t} ORDER BY amount DESC, id LIMIT 100`, {}],
  pivot: ['pivot', `SELECT country, category, sum(quantity) AS q FROM ${t} GROUP BY country, category`, { rows: 'country', columns: 'category', value: 'q' }],
  scatter: ['scatter', `SELECT quantity, amount FROM ${t} WHERE id % 1000 = 0`, { x: 'quantity', y: 'amount' }],
  amounts: ['histogram', `SELECT amount FROM ${t} WHERE id % 100 = 0`, { value: 'amount' }],
  heatmap: ['heatmap', `SELECT country, category, count(*) AS n FROM ${t} GROUP BY country, category`, { x: 'country', y: 'category', value: 'n' }],
  map: ['map', `SELECT country, avg(lat) AS lat, avg(lng) AS lng, count(*) AS n FROM ${t} GROUP BY country`, { lat: 'lat', lng: 'lng', label: 'country', size: 'n' }],
  failed_share: ['kpi', `SELECT round(100.0 * avg(CASE WHEN ok THEN 0 ELSE 1 END), 2) AS failed_pct FROM ${t}`, { value: 'failed_pct' }],
  by_user_top: ['bar', `SELECT "user", sum(amount) AS revenue FROM ${t} GROUP BY "user" ORDER BY revenue DESC LIMIT 20`, { x: 'user', y: 'revenue' }],
  latest: ['table', `SELECT id, ts, country, amount FROM ${t} ORDER BY id DESC LIMIT 25`, {}],
};

function pipelineYaml(dataDir) {
  const lines = [
    `data_dir: ${JSON.stringify(dataDir)}`, 'server: {host: 127.0.0.1, port: 0}', 'buckets: [sluice-bench]',
    'processors:', '  events:', '    input: {bucket: sluice-bench, prefix: raw/events/, suffix: .jsonl, format: jsonl}',
    '    steps:', '      - select: [id, ts, user, country, category, amount, quantity, lat, lng, ok]',
    '    output: {key: "processed/events/{basename}.parquet", format: parquet}',
    'crawlers:', '  bench:', '    database: bench', '    targets: [s3://sluice-bench/processed/]', '    on_change: true',
    'query:', '  database: bench', '  output_location: s3://sluice-bench/athena/results/',
    'dashboards:', '  bench:', '    title: Twenty visuals over a million rows', '    sheets:', '      - title: All', '        visuals:'];
  for (const [id, [type, sql, fields]] of Object.entries(visuals)) {
    lines.push(`          ${id}:`, `            type: ${type}`, `            sql: ${JSON.stringify(sql)}`);
    if (Object.keys(fields).length) lines.push(`            fields: ${JSON.stringify(fields)}`);
  }
  return `${lines.join('\n')}\n`;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const now = () => performance.now();

async function tableVersion(stack) {
  const v = await stack.json('GET', '/v1/dashboards/bench/versions');
  return JSON.stringify(v.tables);
}

async function main() {
  const stack = await h.startStack({ name: 'dashboard-bench', pipeline: ({ dataDir }) => pipelineYaml(dataDir) });
  let browser;
  try {
    const load0 = now();
    const perObject = Math.ceil(kRows / kObjects);
    for (let o = 0; o < kObjects; ++o) {
      const count = Math.min(perObject, kRows - o * perObject);
      await stack.putObject('sluice-bench', `raw/events/part-${String(o).padStart(3, '0')}.jsonl`, rowsText(o * perObject, count));
    }
    await h.waitFor(`${kRows} rows in bench.events`, async () => {
      if (!(await stack.tables('bench')).includes('events')) return false;
      const [[n]] = await stack.query('SELECT count(*) FROM events');
      return Number(n) === kRows;
    }, { timeout: 600000, interval: 500 });
    await stack.waitIdle(600000);
    const loadMs = now() - load0;

    browser = await h.launchBrowser({ name: 'dashboard-bench' });
    const firstRender = [], firstRequest = [], lastResponse = [];
    for (let run = 0; run < kRuns; ++run) {
      const page = await browser.newPage();
      // Where the time goes: until the page asks for the first visual's data (loading the console),
      // until the last visual's data arrived (the queries), and the rest (drawing).
      const seen = { first: Infinity, last: 0 };
      page.on('request', (r) => { if (r.url().includes('/visuals/')) seen.first = Math.min(seen.first, now()); });
      page.on('requestfinished', (r) => { if (r.url().includes('/visuals/')) seen.last = Math.max(seen.last, now()); });
      const t0 = now();
      await page.goto(`${stack.base}/ui/#/dashboards/bench`);
      await page.waitForFunction((n) => {
        const v = document.querySelectorAll('section.visual');
        return v.length === n && [...v].every((e) => e.dataset.state === 'ready');
      }, Object.keys(visuals).length, { timeout: 120000, polling: 'raf' });
      firstRender.push(now() - t0);
      firstRequest.push(seen.first - t0);
      lastResponse.push(seen.last - t0);
      if (run < kRuns - 1) await page.close();
      else browser.lastPage = page;
    }
    const page = browser.lastPage;
    await browser.screenshot(page, 'bench');

    const refresh = [], pipelinePart = [];
    let extra = kRows;
    for (let run = 0; run < kRuns; ++run) {
      const renders = await page.$$eval('section.visual', (els) => Object.fromEntries(els.map((e) => [e.dataset.visualId, Number(e.dataset.renders)])));
      const version = await tableVersion(stack);
      const t0 = now();
      await stack.putObject('sluice-bench', `raw/events/new-${run}.jsonl`, rowsText(extra, 1000));
      extra += 1000;
      await h.waitFor('the new version', async () => (await tableVersion(stack)) !== version, { timeout: 60000, interval: 20 });
      pipelinePart.push(now() - t0);
      await page.waitForFunction((before) => [...document.querySelectorAll('section.visual')].every(
        (e) => e.dataset.state === 'ready' && Number(e.dataset.renders) > before[e.dataset.visualId]), renders, { timeout: 60000, polling: 'raf' });
      refresh.push(now() - t0);
    }

    const concurrent = [], sequential = [];
    const ids = Object.keys(visuals);
    // refresh: true runs every query (no cached result): the cold cost, comparable to POST /v1/query.
    const data = (id) => stack.json('POST', `/v1/dashboards/bench/visuals/${id}/data`, { parameters: {}, refresh: true });
    for (let run = 0; run < kRuns; ++run) {
      let t0 = now();
      await Promise.all(ids.map(data));
      concurrent.push(now() - t0);
      t0 = now();
      for (const id of ids) await data(id);
      sequential.push(now() - t0);
    }
    const rawQueries = [];
    for (let run = 0; run < kRuns; ++run) {
      const t0 = now();
      await Promise.all(Object.values(visuals).map(([, sql]) => stack.json('POST', '/v1/query', { sql, max_rows: 10000 })));
      rawQueries.push(now() - t0);
    }

    const result = {
      rows: kRows, visuals: ids.length, runs: kRuns, cpus: cpus().length, cpu: cpus()[0]?.model,
      load_and_crawl_ms: Math.round(loadMs),
      // The first page load runs the 20 queries (cold); later ones find their results cached until
      // the table changes (warm: another viewer, the page opened again).
      first_render_cold_ms: Math.round(firstRender[0]),
      first_render_warm_ms: Math.round(median(firstRender.slice(1))),
      first_data_request_ms: Math.round(median(firstRequest)),
      last_data_response_ms: Math.round(median(lastResponse)),
      refresh_ms: Math.round(median(refresh)),
      refresh_until_new_version_ms: Math.round(median(pipelinePart)),
      refresh_page_part_ms: Math.round(median(refresh.map((r, i) => r - pipelinePart[i]))),
      data_api_20_concurrent_ms: Math.round(median(concurrent)),
      data_api_20_sequential_ms: Math.round(median(sequential)),
      query_api_20_concurrent_ms: Math.round(median(rawQueries)),
    };
    const fmt = (xs) => xs.map((x) => Math.round(x)).join(' ');
    console.log(`dashboard bench: ${kRows} rows, ${ids.length} visuals, median of ${kRuns}`);
    console.log(`  load + process + crawl            ${result.load_and_crawl_ms} ms`);
    console.log(`  first full render, cold (run 1)   ${result.first_render_cold_ms} ms`);
    console.log(`  first full render, warm (median)  ${result.first_render_warm_ms} ms   (${fmt(firstRender)})`);
    console.log(`    first data request sent         ${result.first_data_request_ms} ms   (${fmt(firstRequest)})`);
    console.log(`    last data response received     ${result.last_data_response_ms} ms   (${fmt(lastResponse)})`);
    console.log(`  refresh after new data            ${result.refresh_ms} ms   (${fmt(refresh)})`);
    console.log(`    of which until the new version  ${result.refresh_until_new_version_ms} ms   (${fmt(pipelinePart)})`);
    console.log(`  20 visuals' data via the API, at once     ${result.data_api_20_concurrent_ms} ms   (${fmt(concurrent)})`);
    console.log(`  20 visuals' data via the API, in sequence ${result.data_api_20_sequential_ms} ms   (${fmt(sequential)})`);
    console.log(`  20 queries via POST /v1/query, at once    ${result.query_api_20_concurrent_ms} ms   (${fmt(rawQueries)})`);
    console.log(JSON.stringify(result));
    if (browser.problems.errors.length || browser.problems.csp.length) {
      console.error('page problems:', JSON.stringify(browser.problems));
    }
  } finally {
    await h.closeAll(browser, stack);
  }
}

await main();
