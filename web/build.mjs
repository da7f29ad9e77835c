// Bundles the console (src/main.js and what it imports, src/app.css, src/index.html) into OUTDIR:
// minified ES modules with hashed names (split per page, so the dashboard does not load the SQL
// editor), no source maps, and index.html pointing at the hashed entry files.
// Usage: node web/build.mjs OUTDIR
import * as esbuild from 'esbuild';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const outArg = process.argv[2];
if (!outArg) {
  console.error('usage: node web/build.mjs OUTDIR');
  process.exit(2);
}
const outdir = resolve(outArg);
rmSync(outdir, { recursive: true, force: true }); // stale hashed files must not be embedded
mkdirSync(outdir, { recursive: true });

const started = performance.now();
const result = await esbuild.build({
  absWorkingDir: here,
  entryPoints: { main: 'src/main.js' },
  bundle: true,
  splitting: true,
  format: 'esm',
  minify: process.env.SLUICE_WEB_DEBUG !== '1',
  sourcemap: false,
  legalComments: 'none',
  target: ['es2022'],
  outdir,
  entryNames: '[name]-[hash]',
  chunkNames: '[name]-[hash]',
  assetNames: '[name]-[hash]',
  metafile: true,
  logLevel: 'warning',
});

let script = null;
let style = null;
for (const [file, output] of Object.entries(result.metafile.outputs)) {
  if (output.entryPoint === 'src/main.js') script = basename(file);
  if (file.endsWith('.css') && basename(file).startsWith('main-')) style = basename(file);
}
if (!script || !style) {
  console.error('build: esbuild produced no main script or stylesheet');
  process.exit(1);
}
const html = readFileSync(join(here, 'src/index.html'), 'utf8')
  .replace('%MAIN_JS%', script)
  .replace('%MAIN_CSS%', style);
writeFileSync(join(outdir, 'index.html'), html);
const bytes = Object.values(result.metafile.outputs).reduce((sum, o) => sum + o.bytes, 0);
console.log(
  `web console: ${Object.keys(result.metafile.outputs).length + 1} files, ` +
    `${(bytes / 1024).toFixed(0)} KiB, ${(performance.now() - started).toFixed(0)} ms`,
);
