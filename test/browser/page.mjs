// Runs in Chromium: loads the browser bundle, runs the shared cases on reference and gpu with
// verify, and reports to the page (a table) and to window.__attnkit (read by test/browser.test.mjs).
import * as ak from './attnkit.mjs';
import { cases, outputsOf } from './cases.mjs';

const $ = (id) => document.getElementById(id);
const log = (s) => ($('log').textContent += `${s}\n`);
const fmt = (x) => (typeof x === 'number' ? (x === 0 ? '0' : Math.abs(x) < 1e-3 || Math.abs(x) >= 1e4 ? x.toExponential(2) : x.toFixed(4)) : String(x));
const plain = (outs) => Object.fromEntries(Object.entries(outs).map(([k, t]) => [k, { shape: [...t.shape], data: Array.from(t.data) }]));

function row(cells, cls) {
  const tr = document.createElement('tr');
  cells.forEach((c, i) => {
    const td = document.createElement('td');
    td.textContent = c;
    if (i === 3 && cls) td.className = cls;
    tr.appendChild(td);
  });
  $('results').querySelector('tbody').appendChild(tr);
}

async function main() {
  const result = { exports: Object.keys(ak).sort(), runs: [], async: [], errors: [] };
  const gl = document.createElement('canvas').getContext('webgl2');
  const dbg = gl && gl.getExtension('WEBGL_debug_renderer_info');
  result.webgl2 = !!gl;
  result.glRenderer = gl ? String(gl.getParameter(dbg ? dbg.UNMASKED_RENDERER_WEBGL : gl.RENDERER)) : null;
  result.colorBufferFloat = !!(gl && gl.getExtension('EXT_color_buffer_float'));
  for (const c of cases()) {
    for (const backend of ['reference', 'gpu']) {
      const entry = { op: c.id, backend };
      try {
        let report = null;
        const t0 = performance.now();
        const r = c.run(ak, { backend, verify: true, onReport: (rep) => (report = rep) });
        entry.ms = performance.now() - t0;
        entry.outputs = plain(outputsOf(r));
        entry.report = report;
        const v = report && report.verify;
        row([c.id, report ? report.backend : '?', JSON.stringify(entry.outputs.output.shape), v ? (v.passed ? 'passed' : 'FAILED') : 'none', v ? `${v.rowsChecked}/${v.rowsTotal}` : '', v ? fmt(v.maxAbsError) : '', v ? fmt(v.maxRelError) : '', v ? `rtol ${v.rtol}, atol ${v.atol}` : '', entry.ms.toFixed(1), entry.outputs.output.data.slice(0, 3).map(fmt).join(', ')], v && v.passed ? 'pass' : 'fail');
      } catch (e) {
        entry.error = `${e && e.name}: ${e && e.message}`;
        result.errors.push(`${c.id}/${backend}: ${entry.error}`);
        row([c.id, backend, '', 'ERROR', '', '', '', '', '', entry.error], 'fail');
      }
      result.runs.push(entry);
    }
    // The async twin on reference: no worker_threads in a browser, so it must fall back to the main thread.
    try {
      const r = await c.runAsync(ak, { backend: 'reference' });
      result.async.push({ op: c.id, outputs: plain(outputsOf(r)) });
    } catch (e) {
      result.errors.push(`${c.id}/reference async: ${e && e.name}: ${e && e.message}`);
    }
  }
  result.gpuStats = ak.gpuStats();
  result.backends = ak.backends();
  result.nativeInfo = ak.nativeInfo();
  try {
    ak.setThreads(2);
    result.setThreads = 'did not throw';
  } catch (e) {
    result.setThreads = `${e.name}: ${e.code}`;
  }
  const gpu = result.backends.find((b) => b.name === 'gpu');
  $('env').textContent =
    `WebGL2: ${result.webgl2} (${result.glRenderer}); EXT_color_buffer_float: ${result.colorBufferFloat}; ` +
    `gpu backend: mode ${gpu && gpu.details && gpu.details.mode}, kernel classes run: ${[...new Set(result.gpuStats.kernelClasses)].map((k) => `${k} ×${result.gpuStats.kernelClasses.filter((x) => x === k).length}`).join(', ') || 'none'}, ` +
    `kernels compiled: ${result.gpuStats.kernelsCompiled}; backends: ${result.backends.map((b) => `${b.name}${b.available ? '' : ' (unavailable)'}`).join(', ')}`;
  const ok = !result.errors.length && result.runs.every((r) => r.report && r.report.verify && r.report.verify.passed);
  $('status').textContent = ok ? 'done: every run verified against reference' : `done with problems: ${result.errors.join('; ') || 'a verify failed'}`;
  $('status').className = ok ? 'pass' : 'fail';
  for (const e of result.errors) log(e);
  if (!result.errors.length) $('log').style.display = 'none';
  result.done = true;
  window.__attnkit = result;
}

main().catch((e) => {
  window.__attnkit = { done: true, fatal: `${e && e.name}: ${e && e.message}\n${e && e.stack}` };
  $('status').textContent = `fatal: ${e && e.message}`;
  $('status').className = 'fail';
});
