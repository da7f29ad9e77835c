// The browser tests' harness: a loopback fixture API (`sluice fixture`), a daemon (`sluice run`) on a
// temporary data directory with a pipeline file written from the example's, and Debian's Chromium
// driven by playwright-core. Everything it starts is stopped by stop() and, should a test die first,
// by the process's exit handler.
//
// Environment: SLUICE_BIN (the sluice binary; default build/src/cli/sluice), SLUICE_ARTEFACTS (where
// screenshots and the daemon's log go; default <build>/artefacts/console), SLUICE_CHROMIUM (default
// /usr/bin/chromium).
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync, createWriteStream, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const sluiceBin = path.resolve(process.env.SLUICE_BIN || path.join(repoRoot, 'build', 'src', 'cli', 'sluice'));
const examplePipeline = path.join(repoRoot, 'examples', 'jsonplaceholder', 'pipeline.yaml');

// The flags Debian's Chromium needs headless in a container, and nothing that phones home.
export const chromiumArgs = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

// Children still running and temporary directories, killed and removed by the exit handler if a test
// ends without stop() (playwright-core closes the browser on exit by itself).
const running = new Set();
const temporaryDirs = new Set();
process.on('exit', () => {
  for (const child of running) {
    try { child.kill('SIGKILL'); } catch { /* already gone */ }
  }
  if (!process.env.SLUICE_KEEP) for (const dir of temporaryDirs) rmSync(dir, { recursive: true, force: true });
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => process.exit(128 + (signal === 'SIGINT' ? 2 : 15)));
}
// A test file that hangs ends itself (through the exit handler above) before ctest's TIMEOUT (180 s)
// would kill it with SIGKILL, which no handler sees.
const kFileTimeLimitMs = Number(process.env.SLUICE_TEST_TIME_LIMIT_MS || 150000);
setTimeout(() => {
  console.error(`harness: ${kFileTimeLimitMs} ms time limit reached, stopping what the test started`);
  process.exit(1);
}, kFileTimeLimitMs).unref();

// A new temporary directory, removed at exit unless SLUICE_KEEP is set.
function temporaryDir(prefix) {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  temporaryDirs.add(dir);
  return dir;
}

// The folder screenshots and logs are written to (created).
export function artefactsDir() {
  const dir = process.env.SLUICE_ARTEFACTS ||
    path.join(path.resolve(path.dirname(sluiceBin), '..', '..'), 'artefacts', 'console');
  mkdirSync(dir, { recursive: true });
  return dir;
}

// Resolves an npm package of the console's web/node_modules (or tests/console/node_modules).
export function requireWebPackage(name) {
  const roots = [path.join(repoRoot, 'web', 'package.json'), path.join(repoRoot, 'tests', 'console', 'package.json')];
  for (const root of roots) {
    if (!existsSync(root)) continue;
    try { return createRequire(root)(name); } catch { /* try the next */ }
  }
  throw new Error(`npm package ${name} not found under web/node_modules: run scripts/setup.sh`);
}

// The path of a file inside an npm package of web/node_modules.
export function webPackageFile(name, file) {
  const req = createRequire(path.join(repoRoot, 'web', 'package.json'));
  return path.join(path.dirname(req.resolve(`${name}/package.json`)), file);
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Calls `probe` every `interval` ms until it returns a truthy value (returned), or throws after
// `timeout` ms naming `what` and the last value or error seen.
export async function waitFor(what, probe, { timeout = 30000, interval = 100 } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
      last = value;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeout} ms waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    }
    await sleep(interval);
  }
}

// Starts a child process; its stdout and stderr go to `logFile`, and `onLine` sees stdout lines.
function startChild(args, { cwd, env, logFile, onStdout }) {
  const log = createWriteStream(logFile);
  const child = spawn(sluiceBin, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  child.on('error', (e) => { log.write(`cannot run ${sluiceBin}: ${e.message}\n`); });
  child.exitPromise = new Promise((resolve) => child.on('close', (code, signal) => {
    running.delete(child);
    resolve({ code, signal });
  }));
  let stderr = '';
  child.stdout.on('data', (d) => { log.write(d); if (onStdout) onStdout(d.toString()); });
  child.stderr.on('data', (d) => { log.write(d); stderr += d.toString(); if (stderr.length > 1e6) stderr = stderr.slice(-5e5); });
  child.stderrText = () => stderr;
  child.on('close', () => log.end());
  return child;
}

// Stops a child: SIGTERM, then SIGKILL after `grace` ms.
async function stopChild(child, grace = 10000) {
  if (!running.has(child)) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), grace);
  await child.exitPromise;
  clearTimeout(timer);
}

// The top-level sections of a YAML file ("key:" at column 0 up to the next one), in order.
export function yamlSections(text) {
  const sections = [];
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z_][\w-]*):/.exec(line);
    if (m) sections.push({ key: m[1], lines: [line] });
    else if (sections.length) sections.at(-1).lines.push(line);
    else sections.push({ key: '', lines: [line] });
  }
  return sections;
}

// Removes the entry `name` (a key at two spaces of indentation, with what is under it) from a section.
function removeEntry(lines, name) {
  const out = [];
  let skipping = false;
  for (const line of lines) {
    if (/^ {2}[^ #]/.test(line)) skipping = line.startsWith(`  ${name}:`);
    else if (/^\S/.test(line)) skipping = false;
    if (!skipping) out.push(line);
  }
  return out;
}

// The example pipeline made into a test's: sources pointed at the fixture, its data directory, a
// free port, schedules that never fire during a test (the sources are triggered by the test),
// deliveries that write at once, optionally a bearer token, and `extraDashboards` (YAML entries at
// two spaces of indentation) added to its dashboards.
export function testPipeline({ fixtureBase, dataDir, tokenEnv, extraDashboards = '', extraSections = '' }) {
  let yaml = readFileSync(examplePipeline, 'utf8');
  for (const real of ['https://jsonplaceholder.typicode.com', 'https://randomuser.me']) yaml = yaml.split(real).join(fixtureBase);
  const sections = yamlSections(yaml);
  let hasDashboards = false;
  for (const s of sections) {
    if (s.key === 'data_dir') s.lines = [`data_dir: ${JSON.stringify(dataDir)}`];
    if (s.key === 'server') {
      s.lines = ['server:', '  host: 127.0.0.1', '  port: 0'];
      if (tokenEnv) s.lines.push('  auth:', `    token_env: ${tokenEnv}`);
      s.lines.push('');
    }
    if (s.key === 'schedules') {
      s.lines = removeEntry(s.lines, 'random-users-poll').map((l) => l.replace(/catch_up: *\w+/, 'catch_up: none'));
    }
    if (s.key === 'deliveries') s.lines = s.lines.map((l) => l.replace(/interval: *\d+s/, 'interval: 0s'));
    if (s.key === 'dashboards') {
      hasDashboards = true;
      if (extraDashboards) s.lines.push(extraDashboards.replace(/\n*$/, '\n'));
    }
  }
  let out = sections.map((s) => s.lines.join('\n')).join('\n');
  if (!hasDashboards && extraDashboards) out += `\ndashboards:\n${extraDashboards}\n`;
  return out + (extraSections ? `\n${extraSections}\n` : '');
}

// A running fixture + daemon. Create with startStack().
export class Stack {
  constructor() {
    this.children = [];
    this.token = null;
  }

  // Calls the daemon's API; returns {status, body (parsed JSON when it is), text, headers}.
  async api(method, pathname, body, { headers = {}, raw = false } = {}) {
    const h = { ...headers };
    if (this.token) h.Authorization = `Bearer ${this.token}`;
    let payload = body;
    if (body !== undefined && typeof body !== 'string') {
      payload = JSON.stringify(body);
      h['Content-Type'] = 'application/json';
    }
    const res = await fetch(this.base + pathname, { method, headers: h, body: payload });
    const text = await res.text();
    let parsed = null;
    if (!raw) { try { parsed = JSON.parse(text); } catch { /* not JSON */ } }
    return { status: res.status, body: parsed, text, headers: res.headers };
  }

  // Like api() but throws unless the status is 2xx; returns the parsed body.
  async json(method, pathname, body) {
    const r = await this.api(method, pathname, body);
    if (r.status < 200 || r.status > 299) throw new Error(`${method} ${pathname}: ${r.status} ${r.text.slice(0, 300)}`);
    return r.body;
  }

  // Runs one SQL query through POST /v1/query; returns its rows.
  async query(sql) {
    return (await this.json('POST', '/v1/query', { sql, max_rows: 10000 })).rows;
  }

  // The names of my_glue_database's (or `db`'s) tables.
  async tables(db = 'my_glue_database') {
    const r = await this.api('GET', `/v1/catalog/databases/${db}/tables`);
    return r.status === 200 ? r.body.map((t) => t.name) : [];
  }

  // Waits until the processors and the on_change crawler have taken every ObjectCreated event.
  async waitIdle(timeout = 30000) {
    await waitFor('empty backlogs', async () => {
      const s = await this.json('GET', '/v1/status');
      return (s.backlogs || []).every((b) => b.events === 0);
    }, { timeout });
  }

  // Triggers the sources (default: the example's four) and waits until their data is catalogued.
  async loadExampleData({ sources = ['users', 'posts', 'comments', 'random-users'],
    tables = ['users', 'posts', 'comments', 'random_users'] } = {}) {
    for (const s of sources) {
      const { runs } = await this.json('POST', `/v1/trigger/${s}`);
      for (const r of runs) if (r.status !== 'succeeded') throw new Error(`source ${s}: ${JSON.stringify(r)}`);
    }
    await waitFor(`tables ${tables.join(', ')} in the catalog`, async () => {
      const have = await this.tables();
      return tables.every((t) => have.includes(t));
    }, { timeout: 30000 });
    await this.waitIdle();
  }

  // Puts an object through the S3 API (path style; on loopback without keys the daemon accepts any
  // signature whose credential scope names s3).
  async putObject(bucket, key, body) {
    const date = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '');
    const auth = `AWS4-HMAC-SHA256 Credential=AKIATEST/${date.slice(0, 8)}/us-east-1/s3/aws4_request, ` +
      `SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=${'0'.repeat(64)}`;
    const res = await fetch(`${this.base}/${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`, {
      method: 'PUT', body,
      headers: { Authorization: auth, 'x-amz-date': date, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
    });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`S3 PUT ${bucket}/${key}: ${res.status} ${text.slice(0, 300)}`);
  }

  // Stops the daemon and the fixture; removes the data directory unless `keep`. Throws when one of
  // them did not stop cleanly on SIGTERM or reported a sanitizer error (ASan, UBSan, LSan).
  async stop({ keep = false } = {}) {
    const problems = [];
    for (const child of this.children.reverse()) {
      await stopChild(child);
      const { code, signal } = await child.exitPromise;
      const sanitizer = /(AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:)[^\n]*/.exec(child.stderrText());
      if (sanitizer) problems.push(`sluice ${child.spawnargs[1]}: ${sanitizer[0]}`);
      if (code !== 0) problems.push(`sluice ${child.spawnargs[1]} exited with ${code ?? signal}`);
    }
    this.children = [];
    if (this.dir && !keep && !process.env.SLUICE_KEEP) rmSync(this.dir, { recursive: true, force: true });
    if (problems.length) throw new Error(`${problems.join('; ')} (logs in ${artefactsDir()})`);
  }
}

// Starts `sluice fixture` and `sluice run` on a fresh directory; `name` names the logs in the
// artefacts folder; `token` sets server.auth.token_env to a variable holding it. Returns a Stack.
export async function startStack({ name = 'stack', token = null, extraDashboards = '', extraSections = '', pipeline = null } = {}) {
  const stack = new Stack();
  stack.dir = temporaryDir('sluice-console-');
  const logs = artefactsDir();
  try {
    let fixtureOut = '';
    const fixture = startChild(['fixture', '--port', '0'], {
      cwd: stack.dir, logFile: path.join(logs, `${name}.fixture.log`), onStdout: (s) => { fixtureOut += s; },
    });
    stack.children.push(fixture);
    stack.fixtureBase = await waitFor('the fixture API address', () => /http:\/\/127\.0\.0\.1:\d+/.exec(fixtureOut)?.[0], { timeout: 10000 });
    const dataDir = path.join(stack.dir, 'data');
    const file = path.join(stack.dir, 'pipeline.yaml');
    const yaml = pipeline ? pipeline({ fixtureBase: stack.fixtureBase, dataDir })
      : testPipeline({ fixtureBase: stack.fixtureBase, dataDir, tokenEnv: token ? 'SLUICE_TEST_TOKEN' : null, extraDashboards, extraSections });
    writeFileSync(file, yaml);
    stack.pipelineFile = file;
    const daemon = startChild(['run', file], {
      cwd: stack.dir, env: { SLUICE_LOG: 'info', ...(token ? { SLUICE_TEST_TOKEN: token } : {}) },
      logFile: path.join(logs, `${name}.daemon.log`),
    });
    stack.children.push(daemon);
    const port = await waitFor('the daemon\'s address', () => {
      if (!running.has(daemon)) throw new Error(`sluice run exited: ${daemon.stderrText().slice(-2000)}`);
      return /HTTP API on http:\/\/127\.0\.0\.1:(\d+)/.exec(daemon.stderrText())?.[1];
    }, { timeout: 20000, interval: 50 });
    stack.base = `http://127.0.0.1:${port}`;
    await waitFor('GET /v1/health', async () => (await fetch(`${stack.base}/v1/health`)).status === 200, { timeout: 10000 });
    stack.token = token;
    return stack;
  } catch (e) {
    await stack.stop({ keep: true }).catch(() => {}); // the first error is the one to report
    throw e;
  }
}

// Launches Chromium with a fresh profile. Returns {context, newPage(opts), problems, close()};
// `problems` collects CSP violations, page errors and dialogs of every page opened with newPage().
export async function launchBrowser({ name = 'browser' } = {}) {
  const { chromium } = requireWebPackage('playwright-core');
  const profile = temporaryDir('sluice-chromium-');
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.SLUICE_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: chromiumArgs,
    acceptDownloads: true,
    viewport: { width: 1280, height: 900 },
  });
  const problems = { csp: [], errors: [], dialogs: [], console: [] };
  const watch = (page) => {
    page.on('console', (msg) => {
      const text = msg.text();
      if (/Content Security Policy|Content-Security-Policy/i.test(text)) problems.csp.push(text);
      if (msg.type() === 'error') problems.console.push(text);
    });
    page.on('pageerror', (err) => problems.errors.push(
      `${err.name}: ${err.message} on ${page.url().replace(/^.*\/ui\//, '/ui/')} (${(err.stack || '').split('\n').slice(1, 5).map((l) => l.trim()).join(' | ')})`));
    page.on('dialog', (dialog) => { problems.dialogs.push(`${dialog.type()}: ${dialog.message()}`); dialog.dismiss().catch(() => {}); });
  };
  // Reported by the page itself too (securitypolicyviolation), in case the console message changes.
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`Content Security Policy violation: ${e.violatedDirective} ${e.blockedURI} at ${location.hash} ` +
        `${e.sourceFile || ''}:${e.lineNumber}:${e.columnNumber} ${e.sample || ''}`);
    });
  });
  for (const page of context.pages()) watch(page);
  context.on('page', watch);
  let shots = 0;
  return {
    context,
    problems,
    async newPage({ width = 1280, height = 900 } = {}) {
      const page = await context.newPage();
      await page.setViewportSize({ width, height });
      return page;
    },
    // Saves a full-page screenshot as <name>-NN-<label>.png in the artefacts folder.
    async screenshot(page, label) {
      const file = path.join(artefactsDir(), `${name}-${String(++shots).padStart(2, '0')}-${label}.png`);
      await page.screenshot({ path: file, fullPage: true }).catch(() => {});
      return file;
    },
    async close() {
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

// Waits until every visual of the dashboard page is ready or error (none loading); returns
// [{id, type, state, marks, renders}].
export async function waitVisualsSettled(page, { timeout = 30000, allowError = false } = {}) {
  await page.waitForFunction(() => {
    const visuals = [...document.querySelectorAll('section.visual')];
    return visuals.length > 0 && visuals.every((v) => ['ready', 'error'].includes(v.dataset.state));
  }, null, { timeout });
  const visuals = await visualStates(page);
  if (!allowError) {
    const failed = visuals.filter((v) => v.state === 'error');
    if (failed.length) throw new Error(`visuals in error: ${failed.map((v) => `${v.id}: ${v.error}`).join('; ')}`);
  }
  return visuals;
}

// The visuals of the current page as the DOM contract describes them.
export async function visualStates(page) {
  return page.$$eval('section.visual', (els) => els.map((v) => ({
    id: v.dataset.visualId, type: v.dataset.type, state: v.dataset.state,
    marks: Number(v.dataset.marks), renders: Number(v.dataset.renders),
    error: v.querySelector('.visual-error')?.textContent ?? null,
  })));
}

// Opens the console at `hash` (e.g. '#/dashboards/NAME') in `page`, signing in first when the stack
// has a token.
export async function openConsole(page, stack, hash) {
  await page.goto(`${stack.base}/ui/${hash}`);
  if (stack.token) {
    await page.waitForSelector('form#login-form', { timeout: 10000 });
    await page.fill('input#token', stack.token);
    await page.click('form#login-form button[type="submit"], form#login-form button');
    await page.waitForFunction((h) => !location.hash.startsWith('#/login'), hash, { timeout: 10000 }).catch(() => {});
    if (!(await page.evaluate(() => location.hash)).startsWith(hash)) await page.goto(`${stack.base}/ui/${hash}`);
  }
}

// The dashboard's visuals from the API, flattened: [{sheet, ...visual}].
export async function dashboardVisuals(stack, name) {
  const d = await stack.json('GET', `/v1/dashboards/${encodeURIComponent(name)}`);
  return d.sheets.flatMap((s, sheet) => s.visuals.map((v) => ({ sheet, ...v })));
}

// The number of marks the DOM contract expects for `visual` (as GET /v1/dashboards/NAME lists it)
// over `data` (the API's POST .../data answer): 1 for a kpi; body rows shown for a table (its first
// page) and a pivot (one per distinct value of its rows field); the bins for a histogram; points with
// a latitude and a longitude on the globe (|lat| <= 90, |lng| <= 180) for a map; one per result row otherwise (bars, points, slices, cells).
export function expectedMarks(visual, data) {
  const rows = data.rows;
  switch (visual.type) {
    case 'kpi': return 1;
    case 'table': return Math.min(rows.length, visual.options?.page_size ?? 25);
    case 'pivot': {
      const c = fieldColumn(visual, data, 'rows');
      return new Set(rows.map((r) => r[c])).size;
    }
    case 'histogram': return rows.length ? (visual.options?.bins ?? 20) : 0;
    case 'map': {
      const lat = fieldColumn(visual, data, 'lat'), lng = fieldColumn(visual, data, 'lng');
      const inRange = (v, limit) => v !== null && v !== '' && Math.abs(Number(v)) <= limit;
      return rows.filter((r) => inRange(r[lat], 90) && inRange(r[lng], 180)).length;
    }
    default: return rows.length;
  }
}

// Ends the test run's harness objects (browser, stack) whatever happens, then throws what stopping
// them found (a sanitizer report, an unclean exit); use in after().
export async function closeAll(...things) {
  const errors = [];
  for (const t of things) {
    if (!t) continue;
    try { await (t.close ? t.close() : t.stop()); } catch (e) { errors.push(e.message); }
  }
  if (errors.length) throw new Error(errors.join('; '));
}

// The tests' own dashboards, added to the example's: a dropdown filter and a drill-down over posts
// and comments (console_test), a sheet with a visual whose SQL fails beside working ones and a
// table of random users' first names, where hostile values land (console_errors).
export const testDashboards = `
  console_test:
    title: Console test
    parameters:
      user:
        type: dropdown
        label: User
        default: ""
        values: SELECT DISTINCT CAST(user_id AS VARCHAR) AS u FROM posts ORDER BY u
    sheets:
      - title: Posts
        visuals:
          posts_per_user:
            type: bar
            title: Posts per user
            sql: SELECT CAST(user_id AS VARCHAR) AS u, count(*) AS posts FROM posts GROUP BY u ORDER BY u
            fields: {x: u, y: posts}
            drill: {parameter: user, field: x}
          user_posts:
            type: table
            title: Posts of the user
            sql: SELECT id, title FROM posts WHERE {{user}} = '' OR CAST(user_id AS VARCHAR) = {{user}} ORDER BY id
            page_size: 20
          comments_per_post:
            type: bar
            title: Comments per post of the user
            sql: >-
              SELECT CAST(c.post_id AS VARCHAR) AS post, count(*) AS comments FROM comments c
              JOIN posts p ON p.id = c.post_id WHERE {{user}} = '' OR CAST(p.user_id AS VARCHAR) = {{user}}
              GROUP BY post ORDER BY post
            fields: {x: post, y: comments}
  console_errors:
    title: Console errors
    sheets:
      - title: Mixed
        visuals:
          broken:
            type: bar
            title: Broken on purpose
            sql: SELECT no_such_column AS u, 1 AS n FROM posts
            fields: {x: u, y: n}
          post_count:
            type: kpi
            title: Posts
            sql: SELECT count(*) AS posts FROM posts
            fields: {value: posts}
          first_names:
            type: table
            title: First names of random users
            sql: SELECT name_first, location_country FROM random_users ORDER BY name_first
            page_size: 50
`;

// A dashboard of every visual type the example does not use, over the example's posts and comments
// (the render test adds it to the example's).
export const typesDashboard = `
  console_types:
    title: Every visual type
    sheets:
      - title: Types
        visuals:
          kpi_with_previous:
            type: kpi
            sql: SELECT count(*) AS posts, count(*) - 10 AS before FROM posts
            fields: {value: posts, previous: before}
          stacked:
            type: stacked_bar
            sql: >-
              SELECT CAST(user_id AS VARCHAR) AS u, CASE WHEN id % 2 = 0 THEN 'even' ELSE 'odd' END AS parity,
              count(*) AS n FROM posts GROUP BY 1, 2 ORDER BY 1, 2
            fields: {x: u, y: n, series: parity}
          line:
            type: line
            sql: SELECT id, length(title) AS chars FROM posts ORDER BY id
            fields: {x: id, y: chars}
          area:
            type: area
            sql: SELECT id, length(body) AS chars FROM posts ORDER BY id
            fields: {x: id, y: chars}
          pie:
            type: pie
            sql: SELECT CAST(user_id AS VARCHAR) AS u, count(*) AS n FROM posts GROUP BY 1 ORDER BY 1
            fields: {label: u, value: n}
          pivot:
            type: pivot
            sql: >-
              SELECT CAST(user_id AS VARCHAR) AS u, CASE WHEN id % 2 = 0 THEN 'even' ELSE 'odd' END AS parity,
              count(*) AS n FROM posts GROUP BY 1, 2
            fields: {rows: u, columns: parity, value: n}
          scatter:
            type: scatter
            sql: SELECT length(title) AS t, length(body) AS b, id FROM posts
            fields: {x: t, y: b, label: id}
          histogram:
            type: histogram
            sql: SELECT length(body) AS chars FROM comments
            fields: {value: chars}
            bins: 12
          heatmap:
            type: heatmap
            sql: >-
              SELECT CAST(user_id AS VARCHAR) AS u, CAST(id % 3 AS VARCHAR) AS k, count(*) AS n FROM posts
              GROUP BY 1, 2 ORDER BY 1, 2
            fields: {x: u, y: k, value: n}
`;

// Runs `body(page)` on a new page of `browser`; saves a screenshot named `label` at the end, or
// `label-failed` when it throws (and rethrows); closes the page.
export async function withPage(browser, label, body, viewport) {
  const page = await browser.newPage(viewport);
  try {
    await body(page);
    await browser.screenshot(page, label);
  } catch (e) {
    await browser.screenshot(page, `${label}-failed`);
    throw e;
  } finally {
    await page.close().catch(() => {});
  }
}

// Asks the API for a visual's data with `parameters` (defaults for the others).
export async function visualData(stack, dashboard, id, parameters = {}) {
  return stack.json('POST', `/v1/dashboards/${encodeURIComponent(dashboard)}/visuals/${encodeURIComponent(id)}/data`, { parameters });
}

// The index of a result column mapped to `field` by a visual, or -1.
export function fieldColumn(visual, data, field) {
  const column = visual.fields?.[field];
  return data.columns.findIndex((c) => (c.name ?? c) === column);
}

// Waits until each visual of `want` ({id: marks}) is ready, rendered more times than in `before`
// ({id: renders}) and shows `marks`; on timeout the error lists what the page shows instead.
export async function waitRerendered(page, want, before, timeout = 20000) {
  try {
    await page.waitForFunction(({ want, before }) => Object.entries(want).every(([id, marks]) => {
      const el = document.querySelector(`section.visual[data-visual-id="${id}"]`);
      return el && el.dataset.state === 'ready' && Number(el.dataset.renders) > before[id] && Number(el.dataset.marks) === marks;
    }), { want, before }, { timeout });
  } catch (e) {
    const shown = (await visualStates(page)).filter((v) => v.id in want)
      .map((v) => `${v.id}: state ${v.state}, renders ${v.renders} (before ${before[v.id]}), marks ${v.marks} (want ${want[v.id]})`);
    throw new Error(`visuals did not re-render as expected within ${timeout} ms: ${shown.join('; ')}`);
  }
}

// Replaces the query editor's text (CodeMirror) as typing would. Not page.fill(): on a
// contenteditable it goes through execCommand, which may write an inline style attribute the
// console's CSP then refuses, a violation the page did not cause.
export async function typeSql(page, sql) {
  await page.click('.cm-content');
  await page.keyboard.press('Control+A');
  await page.keyboard.insertText(sql);
}
