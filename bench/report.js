'use strict';
// `--report FILE`: an HTML page with, per op, two SVG charts, then the table:
//   - a bar chart of the time ratio against the best peer per shape: for each shape, the fastest
//     peer's time (onnxruntime, tfjs, ...) over each library's time, on a log scale around 1 (a bar
//     above the line: that library is faster than the best peer). An op or shape with no peer row
//     is compared with the fastest library at that shape instead, and the chart says so; a shape
//     timed on one library only (e.g. a software gpu's small shapes) has no bar.
//   - GFLOP/s (GB/s for memory-bound ops) against size (the case's flops, or bytes), log-log.
// One colour per library, fixed (LIBRARY_COLOURS) and the same in every chart; each library is one
// series (its fastest row at the shape: any thread count, graph or output mode), so a legend
// never shows a colour twice. `--chart FILE` writes the sdpa throughput chart alone.
const { fmt } = require('./run-bench.js');

const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);

/** The fixed colour of each known library (Tableau 10, distinct hues), in every chart. */
const LIBRARY_COLOURS = {
  'attnkit native': '#1f77b4',
  'attnkit gpu': '#ff7f0e',
  'attnkit reference': '#7f7f7f',
  onnxruntime: '#d62728',
  'tfjs-wasm': '#2ca02c',
  'tfjs-cpu': '#9467bd',
};
/** Colours for libraries not listed above (a custom backend, a new peer), in name order. */
const SPARE_COLOURS = ['#8c564b', '#e377c2', '#17becf', '#bcbd22', '#393b79', '#637939', '#8c6d31', '#843c39', '#7b4173', '#3182bd'];

/** The library a row belongs to: attnkit's backends by name, onnxruntime for every ORT graph, tfjs per backend. */
function libraryOf(row) {
  const b = String(row.backend);
  if (!row.peer) {
    const base = b.replace(/\+out$/, '').replace(/ \(.*\)$/, '');
    return `attnkit ${base}`;
  }
  if (b.startsWith('ort')) return 'onnxruntime';
  return b.replace(/\+out$/, '');
}

const isPeerLibrary = (lib) => !lib.startsWith('attnkit ');

/** One colour per library over all rows: fixed ones first, spares for the rest in sorted order. */
function colourMap(rows) {
  const map = { ...LIBRARY_COLOURS };
  const others = [...new Set(rows.map(libraryOf))].filter((l) => !(l in map)).sort();
  others.forEach((l, i) => {
    map[l] = SPARE_COLOURS[i] ?? `hsl(${Math.round((i * 137.5) % 360)}, 55%, 45%)`;
  });
  return map;
}

/** Timed, non-scenario rows of the op with a case shape. */
const chartRows = (rows, op) => rows.filter((r) => r.op === op && r.median > 0 && !r.scenario && r.caseShape);

/** Per shape (in order): per library its fastest row. */
function bestPerShape(rows) {
  const shapes = new Map();
  for (const r of rows) {
    if (!shapes.has(r.shape)) shapes.set(r.shape, new Map());
    const libs = shapes.get(r.shape);
    const lib = libraryOf(r);
    if (!libs.has(lib) || r.median < libs.get(lib).median) libs.set(lib, r);
  }
  return shapes;
}

/**
 * Whether an op's throughput is shown in GB/s: every native row of it was memory-bound (the bench's
 * rule, bench/limits.js), or, without native rows, every case does under 2 flops per byte.
 */
function memoryBoundOp(rows) {
  const native = rows.filter((r) => String(r.backend).startsWith('native') && !r.peer && r.flops && r.bytes);
  if (native.some((r) => 'memoryBound' in r || r.bwPct !== undefined) || native.some((r) => r.peakPct !== undefined)) return native.length > 0 && native.every((r) => r.memoryBound);
  const withCost = rows.filter((r) => r.flops && r.bytes);
  return withCost.length > 0 && withCost.every((r) => r.flops / r.bytes < 2);
}

/** An axis label: at most 3 significant digits, no trailing zeros ("0.1", "20", "1500"). */
const tick = (v) => (v >= 1000 ? v.toFixed(0) : String(Number(v.toPrecision(3))));

/** Ticks at powers of ten (and 2x, 5x when the range is short) within [lo, hi]. */
function logTicks(lo, hi) {
  const out = [];
  const steps = Math.log10(hi / lo) < 2.5 ? [1, 2, 5] : [1];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of steps) {
      const v = m * 10 ** e;
      if (v >= lo * 0.999 && v <= hi * 1.001) out.push(v);
    }
  }
  return out;
}

function legend(libs, colours, x, y) {
  return libs.map((l, i) => `<rect x="${x}" y="${y + i * 18}" width="12" height="12" fill="${colours[l]}"/><text x="${x + 18}" y="${y + i * 18 + 10}">${esc(l)}</text>`).join('');
}

const W = 640;
const H = 330;
const M = { l: 58, r: 170, t: 24, b: 74 };

/** The bar chart of the ratio against the best peer per shape for `rows` (one op). */
function ratioChart(op, rows, colours) {
  const shapes = bestPerShape(rows);
  const groups = [];
  let anyPeer = false;
  for (const [shape, libs] of shapes) {
    if (libs.size < 2) continue; // one library alone at a shape: nothing to compare
    const peers = [...libs].filter(([l]) => isPeerLibrary(l));
    const basis = (peers.length ? peers : [...libs]).reduce((a, b) => (a[1].median <= b[1].median ? a : b));
    if (peers.length) anyPeer = true;
    groups.push({ shape, basis: basis[0], peer: peers.length > 0, bars: [...libs].map(([l, r]) => ({ lib: l, ratio: basis[1].median / r.median, row: r })) });
  }
  if (!groups.length) {
    return `<svg class="chart ratio empty" data-op="${esc(op)}" xmlns="http://www.w3.org/2000/svg" width="${W}" height="60" font-family="sans-serif" font-size="12"><text x="${M.l}" y="14" font-size="13" font-weight="bold">${esc(op)}: no ratio to draw</text><text x="${M.l}" y="40">no shape was timed on two libraries (see the throughput chart and the table)</text></svg>`;
  }
  const all = groups.flatMap((g) => g.bars.map((b) => b.ratio));
  const lo = Math.min(0.5, ...all) / 1.3;
  const hi = Math.max(2, ...all) * 1.3;
  const Y = (v) => M.t + ((Math.log(hi) - Math.log(v)) / (Math.log(hi) - Math.log(lo))) * (H - M.t - M.b);
  const plotW = W - M.l - M.r;
  const gw = plotW / groups.length;
  const libs = [...new Set(groups.flatMap((g) => g.bars.map((b) => b.lib)))].sort((a, b) => Object.keys(colours).indexOf(a) - Object.keys(colours).indexOf(b));
  let svg = `<svg class="chart ratio" data-op="${esc(op)}" xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`;
  svg += `<text x="${M.l}" y="14" font-size="13" font-weight="bold">${esc(op)}: ${anyPeer ? 'best peer time / time per shape' : 'fastest backend time / time per shape (no peer)'}</text>`;
  for (const v of logTicks(lo, hi)) svg += `<line x1="${M.l}" x2="${W - M.r}" y1="${Y(v)}" y2="${Y(v)}" stroke="#eee"/><text x="${M.l - 6}" y="${Y(v) + 4}" text-anchor="end">${tick(v)}×</text>`;
  groups.forEach((g, gi) => {
    const bw = Math.min(28, (gw * 0.8) / g.bars.length);
    const x0 = M.l + gi * gw + (gw - bw * g.bars.length) / 2;
    g.bars.sort((a, b) => libs.indexOf(a.lib) - libs.indexOf(b.lib));
    g.bars.forEach((b, bi) => {
      // From the bottom of the plot (a ratio of exactly 1, the best peer itself, is a visible bar too).
      const y1 = H - M.b;
      const y2 = Y(b.ratio);
      svg += `<rect class="bar" x="${x0 + bi * bw}" y="${y2}" width="${bw - 2}" height="${Math.max(1, y1 - y2)}" fill="${colours[b.lib]}"><title>${esc(`${b.lib} (${b.row.backend}${b.row.threads ? `, ${b.row.threads} thr` : ''}) on ${g.shape}: ${fmt(b.row.median)} ms, ${fmt(b.ratio)}× ${g.peer ? 'the best peer' : 'the fastest'} (${g.basis})`)}</title></rect>`;
    });
    const label = g.shape.length > 30 ? `${g.shape.slice(0, 29)}…` : g.shape;
    svg += `<text transform="translate(${M.l + gi * gw + gw / 2},${H - M.b + 12}) rotate(20)" font-size="10">${esc(label)}${g.peer ? '' : ' *'}</text>`;
  });
  svg += `<line x1="${M.l}" x2="${W - M.r}" y1="${H - M.b}" y2="${H - M.b}" stroke="#333"/><line x1="${M.l}" y1="${M.t}" x2="${M.l}" y2="${H - M.b}" stroke="#333"/>`;
  svg += `<line class="one" x1="${M.l}" x2="${W - M.r}" y1="${Y(1)}" y2="${Y(1)}" stroke="#000" stroke-dasharray="5,3"/><text x="${W - M.r - 2}" y="${Y(1) - 4}" text-anchor="end" font-size="10">${anyPeer ? 'best peer' : 'fastest'} = 1×</text>`;
  svg += `<text transform="translate(14,${(M.t + H - M.b) / 2}) rotate(-90)" text-anchor="middle">× ${anyPeer ? 'best peer' : 'fastest'} (log; &gt;1 faster)</text>`;
  svg += legend(libs, colours, W - M.r + 14, M.t);
  if (anyPeer && groups.some((g) => !g.peer)) svg += `<text x="${W - M.r + 14}" y="${M.t + libs.length * 18 + 14}" font-size="10">* no peer: vs the fastest</text>`;
  return `${svg}</svg>`;
}

/** GFLOP/s (or GB/s) against size (flops or bytes of the case) for `rows` (one op), log-log. */
function throughputChart(op, rows, colours) {
  const gb = memoryBoundOp(rows);
  const unit = gb ? 'GB/s' : 'GFLOP/s';
  const shapes = bestPerShape(rows);
  const series = new Map();
  for (const [shape, libs] of shapes) {
    for (const [lib, r] of libs) {
      const x = gb ? r.bytes : r.flops;
      const y = gb ? r.gbps : r.gflops;
      if (!(x > 0 && y > 0)) continue;
      if (!series.has(lib)) series.set(lib, []);
      series.get(lib).push({ x, y, shape, row: r });
    }
  }
  if (!series.size) return '';
  const pts = [...series.values()].flat();
  const xlo = Math.min(...pts.map((p) => p.x)) / 1.6, xhi = Math.max(...pts.map((p) => p.x)) * 1.6;
  const ylo = Math.min(...pts.map((p) => p.y)) / 1.6, yhi = Math.max(...pts.map((p) => p.y)) * 1.6;
  const X = (v) => M.l + ((Math.log(v) - Math.log(xlo)) / (Math.log(xhi) - Math.log(xlo))) * (W - M.l - M.r);
  const Y = (v) => M.t + ((Math.log(yhi) - Math.log(v)) / (Math.log(yhi) - Math.log(ylo))) * (H - M.t - M.b);
  const libs = [...series.keys()].sort((a, b) => Object.keys(colours).indexOf(a) - Object.keys(colours).indexOf(b));
  let svg = `<svg class="chart throughput" data-op="${esc(op)}" xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`;
  svg += `<text x="${M.l}" y="14" font-size="13" font-weight="bold">${esc(op)}: ${unit} against size</text>`;
  for (const v of logTicks(ylo, yhi)) svg += `<line x1="${M.l}" x2="${W - M.r}" y1="${Y(v)}" y2="${Y(v)}" stroke="#eee"/><text x="${M.l - 6}" y="${Y(v) + 4}" text-anchor="end">${tick(v)}</text>`;
  const xScale = gb ? 2 ** 20 : 1e9;
  for (const v of logTicks(xlo / xScale, xhi / xScale)) svg += `<line x1="${X(v * xScale)}" x2="${X(v * xScale)}" y1="${M.t}" y2="${H - M.b}" stroke="#f3f3f3"/><text x="${X(v * xScale)}" y="${H - M.b + 14}" text-anchor="middle">${tick(v)}</text>`;
  svg += `<line x1="${M.l}" y1="${H - M.b}" x2="${W - M.r}" y2="${H - M.b}" stroke="#333"/><line x1="${M.l}" y1="${M.t}" x2="${M.l}" y2="${H - M.b}" stroke="#333"/>`;
  svg += `<text x="${(M.l + W - M.r) / 2}" y="${H - M.b + 32}" text-anchor="middle">${gb ? 'bytes moved per call (MiB, log)' : 'work per call (GFLOP, log)'}</text>`;
  svg += `<text transform="translate(14,${(M.t + H - M.b) / 2}) rotate(-90)" text-anchor="middle">${unit} (log)</text>`;
  for (const lib of libs) {
    const ps = series.get(lib).sort((a, b) => a.x - b.x);
    const c = colours[lib];
    if (ps.length > 1) svg += `<polyline class="series" fill="none" stroke="${c}" stroke-width="2" points="${ps.map((p) => `${X(p.x)},${Y(p.y)}`).join(' ')}"/>`;
    for (const p of ps) svg += `<circle class="point" cx="${X(p.x)}" cy="${Y(p.y)}" r="4" fill="${c}"><title>${esc(`${lib} (${p.row.backend}${p.row.threads ? `, ${p.row.threads} thr` : ''}) on ${p.shape}: ${fmt(p.y)} ${unit}`)}</title></circle>`;
  }
  svg += legend(libs, colours, W - M.r + 14, M.t);
  return `${svg}</svg>`;
}

/** The ops of the rows that have something to chart, in row order. */
const chartOps = (rows) => [...new Set(rows.filter((r) => r.median > 0 && !r.scenario && r.caseShape).map((r) => r.op))];

/** The sdpa throughput chart alone (--chart FILE). */
function chart(rows) {
  const rs = chartRows(rows, 'sdpa');
  return rs.length ? throughputChart('sdpa', rs, colourMap(rows)) : '<p>No sdpa rows to chart.</p>';
}

/** A table cell: integers as integers, shares and ratios with fixed decimals, the rest by fmt. */
function cell(r, c) {
  const v = r[c];
  if (v === undefined || v === null) return '';
  if (typeof v === 'number') {
    if (c === 'spreadPct' || c === 'peakPct') return v.toFixed(1);
    if (c === 'bwPct') return `${v.toFixed(1)} ${esc(r.bwLevel ?? '')}`;
    if (c.startsWith('vs')) return v.toFixed(2);
    if (Number.isInteger(v)) return String(v);
    return fmt(v);
  }
  return esc(v);
}

function htmlReport(result, command) {
  const f = result.facts;
  const cols = ['op', 'shape', 'backend', 'threads', 'median', 'spreadPct', 'gflops', 'peakPct', 'gbps', 'bwPct', 'maxAbs', 'maxRel', 'vsOrt', 'vsTfjsWasm', 'vsTfjsCpu', 'note'];
  const heads = ['op', 'shape', 'backend', 'threads', 'median ms', '±IQR %', 'GFLOP/s', '% peak', 'GB/s', '% bandwidth', 'max abs err', 'max rel err', '×ORT', '×tfjs-wasm', '×tfjs-cpu', 'note'];
  const colours = colourMap(result.rows);
  const charts = chartOps(result.rows).map((op) => {
    const rs = chartRows(result.rows, op);
    return `<section class="op" id="op-${esc(op)}"><h3>${esc(op)}</h3><div class="charts">${ratioChart(op, rs, colours)}${throughputChart(op, rs, colours)}</div></section>`;
  }).join('\n');
  const bw = result.bandwidth && Object.keys(result.bandwidth).length
    ? Object.entries(result.bandwidth).map(([level, byT]) => `${level} ${Object.entries(byT).map(([t, g]) => `${fmt(g)} GB/s at ${t} thread(s)`).join(', ')}`).join('; ')
    : null;
  const duration = result.elapsedS ? ` The run took ${Math.floor(result.elapsedS / 60)} min ${Math.round(result.elapsedS % 60)} s (mode: ${esc(result.mode ?? (result.quick ? 'quick' : 'main'))}).` : '';
  return `<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>attnkit benchmark</title>
<style>body{font-family:sans-serif;margin:24px;color:#222}table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}td:nth-child(-n+3),th{text-align:left}code{background:#f4f4f4;padding:1px 4px}.charts{display:flex;flex-wrap:wrap;gap:12px}section.op h3{margin:18px 0 4px}</style></head><body>
<h1>attnkit benchmark</h1>
<p>${esc(f.cpu)}, ${f.cores} cores, ${f.memoryGiB} GiB, ${esc(f.platform)}; node ${esc(f.versions.node)}; native: ${esc(f.native ?? 'unavailable')}; gpu: ${esc(f.gl ?? 'unavailable')}; ${new Date().toISOString()}.${duration}</p>
<p>Measured fp32 FMA peak: ${Object.entries(result.peak).map(([t, g]) => `${fmt(g)} GFLOP/s at ${t} thread(s)`).join(', ') || 'not measured (native unavailable)'}.${bw ? ` Measured read+write bandwidth: ${bw}.` : ''}</p>
<p>Reproduce: <code>${esc(command)}</code></p>
<h2>Per op</h2>
<p>Left: for each shape, the fastest peer's time over each library's time (log scale; above 1: faster than the best peer; where no peer ran, against the fastest library, marked *). Right: ${'GFLOP/s, or GB/s for memory-bound ops, against the work per call'}. One colour per library in every chart; each library shows its fastest row at the shape (any thread count, ONNX graph or output mode).</p>
${charts}
<h2>All rows</h2><table><tr>${heads.map((h) => `<th>${h}</th>`).join('')}</tr>
${result.rows.map((r) => `<tr>${cols.map((c) => `<td>${cell(r, c)}</td>`).join('')}</tr>`).join('\n')}</table>
<p>×ORT = time of the fastest onnxruntime row (either graph, new or pre-allocated output) / attnkit time (same inputs, threads and run); 'native+out' writes into a reused buffer (options.out). ${esc(result.flopsNote)}.${result.limits ? ` % bandwidth: ${esc(result.limits.rule)}.` : ''}</p>
${result.notes.map((n) => `<p>note: ${esc(n)}</p>`).join('')}
</body></html>`;
}

module.exports = { htmlReport, chart, ratioChart, throughputChart, colourMap, libraryOf, LIBRARY_COLOURS };
