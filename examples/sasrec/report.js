'use strict';
// The training report: an HTML page with the test results (the trained model, the popularity
// baseline and, on generated data, the oracle bound, side by side), the training curve as two
// inline SVG charts (loss per epoch; validation HR@10 per epoch with the baselines as dashed
// lines), the per-epoch table and the run's configuration. Inline SVG as bench/report.js draws
// its charts: no script, no dependency, one file to open.

const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
const f4 = (v) => (Number.isFinite(v) ? v.toFixed(4) : String(v));

const COLOURS = { model: '#1f77b4', popularity: '#d62728', oracle: '#2ca02c', loss: '#1f77b4' };
const W = 560;
const H = 300;
const M = { l: 58, r: 130, t: 26, b: 44 };

/** About 5 round ticks over [lo, hi]. */
function ticks(lo, hi) {
  const span = hi - lo || 1;
  const raw = span / 5;
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw);
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(6)));
  return out;
}

/**
 * A line chart: `series` [{ name, colour, points: [[x, y]] }], `levels` [{ name, colour, y }]
 * drawn as dashed horizontal lines across the plot (baselines).
 */
function lineChart({ title, xLabel, yLabel, series, levels = [], yMin = null, yMax = null, cls }) {
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = series.flatMap((s) => s.points.map((p) => p[1])).concat(levels.map((l) => l.y)).filter(Number.isFinite);
  if (!xs.length || !ys.length) return `<svg class="chart ${cls} empty" xmlns="http://www.w3.org/2000/svg" width="${W}" height="40"><text x="10" y="20">${esc(title)}: nothing to draw</text></svg>`;
  const x0 = Math.min(...xs);
  const x1 = Math.max(...xs) > x0 ? Math.max(...xs) : x0 + 1;
  let y0 = yMin ?? Math.min(...ys);
  let y1 = yMax ?? Math.max(...ys);
  if (y1 - y0 < 1e-9) {
    y0 -= 0.5;
    y1 += 0.5;
  }
  const pad = (y1 - y0) * 0.05;
  if (yMin === null) y0 -= pad;
  if (yMax === null) y1 += pad;
  const X = (v) => M.l + ((v - x0) / (x1 - x0)) * (W - M.l - M.r);
  const Y = (v) => M.t + ((y1 - v) / (y1 - y0)) * (H - M.t - M.b);
  let svg = `<svg class="chart ${cls}" xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`;
  svg += `<text x="${M.l}" y="15" font-size="13" font-weight="bold">${esc(title)}</text>`;
  for (const v of ticks(y0, y1)) svg += `<line x1="${M.l}" x2="${W - M.r}" y1="${Y(v)}" y2="${Y(v)}" stroke="#eee"/><text x="${M.l - 6}" y="${Y(v) + 4}" text-anchor="end">${v}</text>`;
  for (const v of ticks(x0, x1).filter(Number.isInteger)) svg += `<text x="${X(v)}" y="${H - M.b + 14}" text-anchor="middle">${v}</text>`;
  svg += `<line x1="${M.l}" y1="${H - M.b}" x2="${W - M.r}" y2="${H - M.b}" stroke="#333"/><line x1="${M.l}" y1="${M.t}" x2="${M.l}" y2="${H - M.b}" stroke="#333"/>`;
  svg += `<text x="${(M.l + W - M.r) / 2}" y="${H - M.b + 32}" text-anchor="middle">${esc(xLabel)}</text>`;
  svg += `<text transform="translate(14,${(M.t + H - M.b) / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`;
  for (const l of levels) {
    if (!Number.isFinite(l.y)) continue;
    svg += `<line class="level" data-name="${esc(l.name)}" x1="${M.l}" x2="${W - M.r}" y1="${Y(l.y)}" y2="${Y(l.y)}" stroke="${l.colour}" stroke-width="1.5" stroke-dasharray="6,4"><title>${esc(`${l.name}: ${f4(l.y)}`)}</title></line>`;
  }
  for (const s of series) {
    svg += `<polyline class="series" data-name="${esc(s.name)}" fill="none" stroke="${s.colour}" stroke-width="2" points="${s.points.map(([x, y]) => `${X(x)},${Y(y)}`).join(' ')}"/>`;
    for (const [x, y] of s.points) svg += `<circle cx="${X(x)}" cy="${Y(y)}" r="3" fill="${s.colour}"><title>${esc(`${s.name}, epoch ${x}: ${f4(y)}`)}</title></circle>`;
  }
  const keys = [...series.map((s) => ({ name: s.name, colour: s.colour, dashed: false })), ...levels.filter((l) => Number.isFinite(l.y)).map((l) => ({ ...l, dashed: true }))];
  keys.forEach((k, i) => {
    const y = M.t + i * 18;
    svg += `<line x1="${W - M.r + 12}" x2="${W - M.r + 30}" y1="${y + 6}" y2="${y + 6}" stroke="${k.colour}" stroke-width="2"${k.dashed ? ' stroke-dasharray="6,4"' : ''}/><text x="${W - M.r + 36}" y="${y + 10}">${esc(k.name)}</text>`;
  });
  return `${svg}</svg>`;
}

/** The two training-curve charts of a train() result. */
function curveCharts(result) {
  const h = result.history;
  const loss = lineChart({ title: 'training loss (BCE, one negative per position)', xLabel: 'epoch', yLabel: 'mean loss', cls: 'loss', series: [{ name: 'loss', colour: COLOURS.loss, points: h.map((r) => [r.epoch, r.loss]) }] });
  const levels = [{ name: 'popularity', colour: COLOURS.popularity, y: result.validBaselines.popularity.hr }];
  if (result.validBaselines.oracle) levels.push({ name: 'oracle', colour: COLOURS.oracle, y: result.validBaselines.oracle.hr });
  const hr = lineChart({ title: 'validation HR@10 per epoch', xLabel: 'epoch', yLabel: 'HR@10', cls: 'hr', yMin: 0, yMax: 1, series: [{ name: 'SASRec', colour: COLOURS.model, points: h.map((r) => [r.epoch, r.hr]) }], levels });
  return loss + hr;
}

/** The HTML report of a train() result; `meta`: `{ command, data (a description), machine, ops (which backend ran each op) }`. */
function htmlReport(result, meta = {}) {
  const t = result.test;
  const rows = [['SASRec (attnkit, trained)', t.model], ['popularity (training counts)', t.popularity]];
  if (t.oracle) rows.push(['oracle (the generator\u2019s next-item probability)', t.oracle]);
  const c = result.config;
  const cfg = { epochs: c.epochs, batchSize: c.batchSize, maxLen: c.maxLen, dim: c.dim, heads: c.heads, blocks: c.blocks, dropout: c.dropout, lr: c.lr, weightDecay: c.weightDecay, betas: c.betas.join(', '), seed: c.seed, parameters: result.parameters };
  return `<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>attnkit: SASRec training</title>
<style>body{font-family:sans-serif;margin:24px;color:#222}table{border-collapse:collapse;font-size:13px;margin:8px 0 16px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}td:first-child,th:first-child{text-align:left}code{background:#f4f4f4;padding:1px 4px}.charts{display:flex;flex-wrap:wrap;gap:12px}</style></head><body>
<h1>SASRec trained on attnkit</h1>
<p>${esc(meta.data ?? '')}: ${result.users} users, ${result.numItems} items; ${esc(meta.machine ?? '')}; ${new Date().toISOString()}. Training and evaluation took ${result.seconds.toFixed(1)} s.</p>
${meta.ops ? `<p>Ops ran on: ${esc(meta.ops)}.</p>` : ''}
${meta.command ? `<p>Reproduce: <code>${esc(meta.command)}</code></p>` : ''}
<h2>Test: the true next item among 100 sampled negatives</h2>
<table class="results"><tr><th>ranker</th><th>HR@10</th><th>NDCG@10</th><th>users</th></tr>
${rows.map(([name, m]) => `<tr><td>${esc(name)}</td><td>${f4(m.hr)}</td><td>${f4(m.ndcg)}</td><td>${m.users}</td></tr>`).join('\n')}
</table>
<p>Each user's last item ranked among 100 items drawn uniformly from those the user never interacted with (the same candidates for every ranker; ties broken at random, in expectation). The oracle ranks by the true next-item probability under the generator: the best any model can do in expectation.</p>
<h2>Training curve</h2>
<div class="charts">${curveCharts(result)}</div>
<table class="epochs"><tr><th>epoch</th><th>loss</th><th>valid HR@10</th><th>valid NDCG@10</th><th>seconds</th></tr>
${result.history.map((r) => `<tr><td>${r.epoch}</td><td>${f4(r.loss)}</td><td>${f4(r.hr)}</td><td>${f4(r.ndcg)}</td><td>${r.seconds.toFixed(1)}</td></tr>`).join('\n')}
</table>
<h2>Configuration</h2>
<table class="config">${Object.entries(cfg).map(([k, v]) => `<tr><td>${esc(k)}</td><td>${esc(v)}</td></tr>`).join('')}</table>
</body></html>
`;
}

module.exports = { htmlReport, lineChart, curveCharts };
