// End-to-end browser test: build dist/browser/attnkit.mjs, serve it with a page on 127.0.0.1
// (ephemeral port), load the page in Debian's Chromium (headless, software WebGL on SwiftShader)
// driven by playwright-core, and check what the page computed:
// - sdpa, multiHeadAttention and targetAttention ran on reference and gpu with verify: true
//   (every row) and every verify passed;
// - the gpu backend really ran WebGL kernels (gpu.js WebGL2Kernel, mode webgl2), never a fallback;
// - the page's numbers, recomputed here in Node by the Node build's reference backend from the
//   same seeded inputs: reference bit-identical, gpu within the gpu backend's measured tolerances;
// - the bundle exports the same names as the Node entry; the native API fails the typed way.
// A screenshot goes to artifacts/browser.png. The bench's HTML report (bench/report.js, built from
// a recorded `attnkit bench --quick` result, test/fixtures/bench-quick.json) is loaded too: its
// screenshot goes to artifacts/report.png, and every chart must be drawn (SVG element counts, ink
// in each chart's own screenshot, the fixed library colours, no colour twice in a legend).
// Without Chromium: skipped (visibly), but in CI (CI=true) a missing Chromium fails.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { cases, outputsOf } from './browser/cases.mjs';
import { toleranceOf } from './specs/util.mjs';
import { decodePng, inkOf } from './browser/png.mjs';

const require = createRequire(import.meta.url);
const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const CHROMIUM = process.env.ATTNKIT_CHROMIUM || '/usr/bin/chromium';
const CI = process.env.CI === 'true'; // test/run.js normalises CI
const haveChromium = fs.existsSync(CHROMIUM);
const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  // Chromium 156 (Debian 12) gives WebGL2 on SwiftShader with these flags alone (measured). Should a
  // later Chromium refuse software WebGL, add '--enable-unsafe-swiftshader' (ATTNKIT_CHROMIUM_ARGS).
  ...(process.env.ATTNKIT_CHROMIUM_ARGS ? process.env.ATTNKIT_CHROMIUM_ARGS.split(' ').filter(Boolean) : []),
];

if (!haveChromium) {
  if (CI) {
    test('Chromium is installed (required in CI)', () => {
      assert.unreachable(`${CHROMIUM} not found: install it with apt-get install chromium (scripts/install-system-deps.sh does)`);
    });
  } else {
    console.log(`SKIP browser test: ${CHROMIUM} not found (apt-get install chromium); in CI this fails`);
    test.skip('browser end-to-end (no Chromium)', () => {});
  }
  test.run();
} else {
  run();
}

function serve(files) {
  const requests = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    const f = files[url.pathname];
    requests.push(`${req.method} ${url.pathname} ${f ? 200 : 404}`);
    if (!f || req.method !== 'GET') {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': f.type, 'cache-control': 'no-store' });
    fs.createReadStream(f.file).pipe(res);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: server.address().port, requests })));
}

function compare(got, want, rtol, atol) {
  let maxAbs = 0;
  let bad = 0;
  let first = null;
  for (let i = 0; i < want.length; i++) {
    const g = got[i];
    const w = want[i];
    if (!Number.isFinite(w) || !Number.isFinite(g)) {
      if (!Object.is(g, w) && !(Number.isNaN(g) && Number.isNaN(w))) {
        bad++;
        first ??= { i, got: g, want: w };
      }
      continue;
    }
    const d = Math.abs(g - w);
    maxAbs = Math.max(maxAbs, d);
    if (d > atol + rtol * Math.abs(w)) {
      bad++;
      first ??= { i, got: g, want: w };
    }
  }
  return { maxAbs, bad, first };
}

function run() {
  const ak = require('attnkit');
  let page = null;

  test.before(async () => {
    // The bundle under test, built from the current sources (esbuild: about a second).
    const b = spawnSync(process.execPath, [path.join(root, 'scripts/build-browser.js')], { cwd: root, encoding: 'utf8' });
    if (b.status !== 0) throw new Error(`build-browser failed:\n${b.stdout}${b.stderr}`);
    process.stdout.write(b.stdout);
    // The bench report from a recorded quick run, written by the current bench/report.js.
    fs.mkdirSync(path.join(root, 'artifacts'), { recursive: true });
    const benchResult = JSON.parse(fs.readFileSync(path.join(root, 'test/fixtures/bench-quick.json'), 'utf8'));
    fs.writeFileSync(path.join(root, 'artifacts/report.html'), require('../bench/report.js').htmlReport(benchResult, 'npx attnkit bench --quick --report report.html'));
    const files = {
      '/': { file: path.join(root, 'test/browser/index.html'), type: 'text/html; charset=utf-8' },
      '/report.html': { file: path.join(root, 'artifacts/report.html'), type: 'text/html; charset=utf-8' },
      '/page.mjs': { file: path.join(root, 'test/browser/page.mjs'), type: 'text/javascript' },
      '/cases.mjs': { file: path.join(root, 'test/browser/cases.mjs'), type: 'text/javascript' },
      '/attnkit.mjs': { file: path.join(root, 'dist/browser/attnkit.mjs'), type: 'text/javascript' },
    };
    const { server, port, requests } = await serve(files);
    const { chromium } = require('playwright-core');
    const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'attnkit-chromium-'));
    const t0 = Date.now();
    // launchPersistentContext: a fresh --user-data-dir we own (launch() refuses that flag in args).
    const context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1280, height: 560 } });
    const consoleErrors = [];
    const failed = [];
    try {
      const p = context.pages()[0] ?? (await context.newPage());
      p.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
      p.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`));
      p.on('requestfailed', (r) => failed.push(`${r.url()}: ${r.failure()?.errorText}`));
      await p.goto(`http://127.0.0.1:${port}/`);
      await p.waitForFunction(() => window.__attnkit && window.__attnkit.done, null, { timeout: 180_000, polling: 250 });
      const result = await p.evaluate(() => window.__attnkit);
      fs.mkdirSync(path.join(root, 'artifacts'), { recursive: true });
      await p.screenshot({ path: path.join(root, 'artifacts/browser.png'), fullPage: true });
      const version = context.browser()?.version() ?? (await p.evaluate(() => navigator.userAgent));
      page = { result, consoleErrors, failed, requests, version, seconds: (Date.now() - t0) / 1000 };
      // The bench report: the page's own account of its charts, a screenshot of the whole page
      // and one of every chart (decoded here: the pixels, not only the DOM).
      const rp = await context.newPage();
      rp.on('console', (m) => m.type() === 'error' && consoleErrors.push(`report: ${m.text()}`));
      rp.on('pageerror', (e) => consoleErrors.push(`report pageerror: ${e.message}`));
      await rp.setViewportSize({ width: 1340, height: 900 });
      await rp.goto(`http://127.0.0.1:${port}/report.html`);
      const charts = await rp.evaluate(() => [...document.querySelectorAll('svg.chart')].map((svg) => ({
        op: svg.dataset.op,
        kind: svg.classList.contains('ratio') ? 'ratio' : 'throughput',
        bars: svg.querySelectorAll('rect.bar').length,
        points: svg.querySelectorAll('circle.point').length,
        box: (({ width, height }) => ({ width, height }))(svg.getBoundingClientRect()),
        legend: [...svg.querySelectorAll('rect + text')].filter((t) => t.previousElementSibling.getAttribute('width') === '12').map((t) => ({ library: t.textContent, colour: t.previousElementSibling.getAttribute('fill') })),
      })));
      await rp.screenshot({ path: path.join(root, 'artifacts/report.png'), fullPage: true });
      const shots = [];
      for (const el of await rp.$$('svg.chart')) shots.push(inkOf(decodePng(await el.screenshot())));
      page.report = { charts, shots };
    } finally {
      await context.close();
      server.close();
      fs.rmSync(userDataDir, { recursive: true, force: true });
    }
    const r = page.result;
    console.log(`chromium ${page.version}: page done in ${page.seconds.toFixed(1)} s; WebGL2 ${r.webgl2} on ${r.glRenderer}; screenshot artifacts/browser.png`);
    for (const e of r.runs ?? []) if (e.report?.verify) console.log(`  ${e.op} on ${e.backend}: verify ${e.report.verify.passed ? 'passed' : 'FAILED'}, max abs err ${e.report.verify.maxAbsError.toExponential(2)}, ${e.ms.toFixed(1)} ms`);
  });

  test('the page loaded only the bundle, the page and the cases, with no errors', () => {
    assert.is(page.result.fatal, undefined, page.result.fatal);
    assert.equal(page.failed, [], 'failed requests');
    assert.equal(page.consoleErrors, [], 'console errors');
    assert.ok(page.requests.every((r) => r.endsWith(' 200') || r === 'GET /favicon.ico 404'), page.requests.join('\n'));
    assert.ok(page.requests.includes('GET /attnkit.mjs 200'));
  });

  test('the bundle exports the same API as the Node entry', () => {
    const node = Object.keys(ak).filter((k) => k !== 'default' && k !== '__esModule').sort();
    const browser = page.result.exports.filter((k) => k !== 'default');
    assert.equal(browser, node);
  });

  test('every op ran on reference and gpu, and every verify (all rows) passed', () => {
    assert.equal(page.result.errors, []);
    const want = cases().flatMap((c) => ['reference', 'gpu'].map((b) => `${c.id}/${b}`));
    assert.equal(page.result.runs.map((e) => `${e.op}/${e.backend}`), want);
    for (const e of page.result.runs) {
      const label = `${e.op} on ${e.backend}`;
      assert.is(e.error, undefined, `${label}: ${e.error}`);
      assert.is(e.report.backend, e.backend, label);
      const v = e.report.verify;
      assert.ok(v, `${label}: no verify report`);
      assert.ok(v.passed, `${label}: verify failed: ${JSON.stringify(v)}`);
      assert.is(v.rowsChecked, v.rowsTotal, label);
      assert.ok(v.elementsChecked > 0, label);
    }
  });

  test('the gpu backend ran WebGL kernels (WebGL2Kernel on webgl2), never a CPU or WebAssembly fallback', () => {
    const r = page.result;
    assert.ok(r.webgl2, "the page has no WebGL2 context (if Chromium refuses software WebGL: ATTNKIT_CHROMIUM_ARGS='--enable-unsafe-swiftshader')");
    const gpu = r.backends.find((b) => b.name === 'gpu');
    assert.ok(gpu && gpu.available, `gpu unavailable in the page: ${gpu && gpu.reason}`);
    assert.is(gpu.details.mode, 'webgl2');
    assert.is(gpu.details.kernelClass, 'WebGL2Kernel');
    assert.ok(r.gpuStats.kernelClasses.length > 0, 'no gpu kernel ran');
    assert.equal([...new Set(r.gpuStats.kernelClasses)], ['WebGL2Kernel']);
    assert.ok(r.gpuStats.kernelsCompiled >= 3, `kernels compiled: ${r.gpuStats.kernelsCompiled}`);
    assert.is(r.gpuStats.texturesLive, 0, 'textures left alive after the ops');
    assert.ok(typeof gpu.renderer === 'string' && gpu.renderer.length > 0);
  });

  test('native is absent in the browser and fails the typed way', () => {
    const r = page.result;
    assert.equal(r.backends.map((b) => b.name).sort(), ['gpu', 'reference']);
    assert.is(r.nativeInfo.available, false);
    assert.match(r.nativeInfo.reason, /Node\.js/);
    assert.is(r.setThreads, 'BackendUnavailableError: ERR_ATTNKIT_BACKEND_UNAVAILABLE');
  });

  test("the page's numbers match the Node build's reference (reference exact, gpu within its tolerances)", () => {
    const all = cases();
    let gpuDiffers = false;
    for (const c of all) {
      const want = outputsOf(c.run(ak, { backend: 'reference' }));
      for (const backend of ['reference', 'gpu']) {
        const e = page.result.runs.find((x) => x.op === c.id && x.backend === backend);
        assert.equal(Object.keys(e.outputs).sort(), Object.keys(want).sort(), `${c.id}/${backend} outputs`);
        for (const [name, w] of Object.entries(want)) {
          const g = e.outputs[name];
          assert.equal(g.shape, [...w.shape], `${c.id}/${backend} ${name} shape`);
          // Reference: same code, float64 accumulation, V8's fdlibm Math.exp in both: bit-identical.
          // gpu: the backend's measured tolerance for the op (rtol/atol, as verify uses).
          const tol = backend === 'reference' ? { rtol: 0, atol: 0 } : toleranceOf('gpu', c.id);
          const cmp = compare(g.data, w.data, tol.rtol, tol.atol);
          assert.is(cmp.bad, 0, `${c.id}/${backend} ${name}: ${cmp.bad} elements out of tolerance (first ${JSON.stringify(cmp.first)})`);
          if (backend === 'gpu' && cmp.maxAbs > 0) gpuDiffers = true;
        }
      }
      const a = page.result.async.find((x) => x.op === c.id);
      assert.ok(a, `${c.id}: no async result`);
      for (const [name, w] of Object.entries(want)) assert.equal(a.outputs[name].data, Array.from(w.data), `${c.id} async ${name}`);
    }
    // fp32 GLSL accumulation is not float64: identical results everywhere would mean gpu did not compute them.
    assert.ok(gpuDiffers, 'gpu outputs are bit-identical to reference on every op');
  });

  test('the bench report draws two charts per op, with bars and points, one colour per library everywhere', () => {
    const { charts, shots } = page.report;
    const bench = JSON.parse(fs.readFileSync(path.join(root, 'test/fixtures/bench-quick.json'), 'utf8'));
    const ops = [...new Set(bench.rows.filter((r) => r.median > 0 && !r.scenario && r.caseShape).map((r) => r.op))];
    assert.ok(ops.length >= 5, `ops with timed rows in the fixture: ${ops.join(', ')}`);
    assert.equal(charts.filter((c) => c.kind === 'ratio').map((c) => c.op), ops, 'a ratio chart per op');
    assert.equal(charts.filter((c) => c.kind === 'throughput').map((c) => c.op), ops, 'a throughput chart per op');
    const colourOf = new Map();
    charts.forEach((c, i) => {
      const label = `${c.op} ${c.kind}`;
      assert.ok(c.box.width > 300 && c.box.height > 200, `${label}: laid out (${c.box.width}x${c.box.height})`);
      if (c.kind === 'ratio') assert.ok(c.bars >= 2, `${label}: ${c.bars} bars`);
      else assert.ok(c.points >= 2, `${label}: ${c.points} points`);
      assert.ok(c.legend.length >= 2, `${label}: legend of ${c.legend.length}`);
      const fills = c.legend.map((l) => l.colour);
      assert.is(new Set(fills).size, fills.length, `${label}: a colour twice in the legend: ${JSON.stringify(c.legend)}`);
      for (const l of c.legend) {
        if (colourOf.has(l.library)) assert.is(l.colour, colourOf.get(l.library), `${l.library}: the same colour in every chart`);
        colourOf.set(l.library, l.colour);
      }
      // Drawn: ink on the chart's own screenshot, and every legend colour among its pixels.
      const shot = shots[i];
      assert.ok(shot.ink / shot.total > 0.02, `${label}: ${(100 * shot.ink / shot.total).toFixed(2)}% of the chart's pixels inked`);
      for (const l of c.legend) assert.ok((shot.colours.get(l.colour) ?? 0) > 50, `${label}: ${l.library}'s ${l.colour} drawn (${shot.colours.get(l.colour) ?? 0} px)`);
    });
    // Peers are in the sdpa charts of the fixture (onnxruntime, tfjs), attnkit native everywhere.
    assert.ok(charts.find((c) => c.op === 'sdpa' && c.kind === 'ratio').legend.some((l) => l.library === 'onnxruntime'));
    assert.ok(charts.every((c) => c.legend.some((l) => l.library === 'attnkit native')));
    const st = fs.statSync(path.join(root, 'artifacts/report.png'));
    assert.ok(st.size > 50_000, `artifacts/report.png is ${st.size} bytes`);
  });

  test('the screenshot was saved', () => {
    const st = fs.statSync(path.join(root, 'artifacts/browser.png'));
    assert.ok(st.size > 10_000, `artifacts/browser.png is ${st.size} bytes`);
  });

  test.run();
}
