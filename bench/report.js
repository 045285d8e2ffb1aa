'use strict';
// `--report FILE`: an HTML page with the table and an SVG chart of sdpa GFLOP/s against sequence
// length (L = S, non-causal) per backend and peer.
const { fmt } = require('./run-bench.js');

const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#17becf', '#bcbd22'];

function chart(rows) {
  const pts = rows.filter((r) => r.op === 'sdpa' && r.gflops && r.caseShape && !r.caseShape.causal && r.caseShape.L === r.caseShape.S && r.caseShape.L > 1);
  const series = new Map();
  for (const r of pts) {
    const key = `${r.backend}${r.threads ? ` ×${r.threads}` : ''}`;
    if (!series.has(key)) series.set(key, []);
    series.get(key).push({ x: r.caseShape.L, y: r.gflops, label: r.shape });
  }
  if (!series.size) return '<p>No sdpa rows with L = S to chart.</p>';
  const W = 760, H = 420, m = { l: 60, r: 190, t: 20, b: 50 };
  const xs = pts.map((p) => p.caseShape.L);
  const xMin = Math.log2(Math.min(...xs)) - 0.3, xMax = Math.log2(Math.max(...xs)) + 0.3;
  const yMax = Math.max(...pts.map((p) => p.gflops)) * 1.1;
  const X = (x) => m.l + ((Math.log2(x) - xMin) / (xMax - xMin)) * (W - m.l - m.r);
  const Y = (y) => H - m.b - (y / yMax) * (H - m.t - m.b);
  let svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`;
  svg += `<line x1="${m.l}" y1="${H - m.b}" x2="${W - m.r}" y2="${H - m.b}" stroke="#333"/><line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${H - m.b}" stroke="#333"/>`;
  for (const x of [...new Set(xs)].sort((a, b) => a - b)) svg += `<text x="${X(x)}" y="${H - m.b + 16}" text-anchor="middle">${x}</text>`;
  for (let i = 0; i <= 5; i++) {
    const y = (yMax / 5) * i;
    svg += `<text x="${m.l - 6}" y="${Y(y) + 4}" text-anchor="end">${fmt(y)}</text><line x1="${m.l}" x2="${W - m.r}" y1="${Y(y)}" y2="${Y(y)}" stroke="#eee"/>`;
  }
  svg += `<text x="${(m.l + W - m.r) / 2}" y="${H - 10}" text-anchor="middle">sequence length L = S (sdpa, several B and H: see table)</text>`;
  svg += `<text transform="translate(16,${(m.t + H - m.b) / 2}) rotate(-90)" text-anchor="middle">GFLOP/s</text>`;
  let i = 0;
  for (const [key, ps] of series) {
    const c = COLORS[i % COLORS.length];
    ps.sort((a, b) => a.x - b.x);
    svg += `<polyline fill="none" stroke="${c}" stroke-width="2" points="${ps.map((p) => `${X(p.x)},${Y(p.y)}`).join(' ')}"/>`;
    for (const p of ps) svg += `<circle cx="${X(p.x)}" cy="${Y(p.y)}" r="3.5" fill="${c}"><title>${esc(key)} ${esc(p.label)}: ${fmt(p.y)} GFLOP/s</title></circle>`;
    svg += `<rect x="${W - m.r + 12}" y="${m.t + i * 20}" width="12" height="12" fill="${c}"/><text x="${W - m.r + 30}" y="${m.t + i * 20 + 10}">${esc(key)}</text>`;
    i++;
  }
  return `${svg}</svg>`;
}

function htmlReport(result, command) {
  const f = result.facts;
  const cols = ['op', 'shape', 'backend', 'threads', 'median', 'spreadPct', 'gflops', 'peakPct', 'gbps', 'maxAbs', 'maxRel', 'vsOrt', 'vsTfjsWasm', 'vsTfjsCpu', 'note'];
  const heads = ['op', 'shape', 'backend', 'threads', 'median ms', '±IQR %', 'GFLOP/s', '% peak', 'max abs err', 'max rel err', '×ORT', '×tfjs-wasm', '×tfjs-cpu', 'note'];
  const cell = (r, c) => {
    const v = r[c];
    if (v === undefined || v === null) return '';
    if (typeof v === 'number') return c === 'spreadPct' || c === 'peakPct' ? v.toFixed(1) : c.startsWith('vs') ? v.toFixed(2) : fmt(v);
    return esc(v);
  };
  return `<!doctype html><html><head><meta charset="utf-8"><title>attnkit benchmark</title>
<style>body{font-family:sans-serif;margin:24px;color:#222}table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}td:nth-child(-n+3),th{text-align:left}code{background:#f4f4f4;padding:1px 4px}</style></head><body>
<h1>attnkit benchmark</h1>
<p>${esc(f.cpu)}, ${f.cores} cores, ${f.memoryGiB} GiB, ${esc(f.platform)}; node ${esc(f.versions.node)}; native: ${esc(f.native ?? 'unavailable')}; gpu: ${esc(f.gl ?? 'unavailable')}; ${new Date().toISOString()}.</p>
<p>Measured fp32 FMA peak: ${Object.entries(result.peak).map(([t, g]) => `${fmt(g)} GFLOP/s at ${t} thread(s)`).join(', ') || 'not measured (native unavailable)'}.</p>
<p>Reproduce: <code>${esc(command)}</code></p>
<h2>sdpa GFLOP/s against sequence length</h2>${chart(result.rows)}
<h2>All rows</h2><table><tr>${heads.map((h) => `<th>${h}</th>`).join('')}</tr>
${result.rows.map((r) => `<tr>${cols.map((c) => `<td>${cell(r, c)}</td>`).join('')}</tr>`).join('\n')}</table>
<p>×ORT = time of the fastest onnxruntime row (either graph, new or pre-allocated output) / attnkit time (same inputs, threads and run); 'native+out' writes into a reused buffer (options.out). ${esc(result.flopsNote)}.</p>
${result.notes.map((n) => `<p>note: ${esc(n)}</p>`).join('')}
</body></html>`;
}

module.exports = { htmlReport, chart };
