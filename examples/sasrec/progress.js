'use strict';
// The training progress on stderr: on a terminal one line redrawn in place (epoch, a bar over the
// epoch's steps, the running loss, sequences per second, the ETA of the whole run) and one line
// kept per finished epoch; elsewhere (a pipe, a log file, CI) only the plain per-epoch lines.

/** Seconds as m:ss (or h:mm:ss). */
function clock(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/**
 * A progress reporter writing to `stream` (default process.stderr); `tty` defaults to the
 * stream's isTTY; `now` (ms) is injectable for tests; redraws at most every `intervalMs`.
 */
function createProgress({ stream = process.stderr, tty = Boolean(stream.isTTY), now = () => Date.now(), intervalMs = 100, width = 24 } = {}) {
  let run = null;
  let lastDraw = -Infinity;
  const rate = () => {
    const s = (now() - run.t0) / 1000;
    return s > 0 ? run.sequencesDone / s : 0;
  };
  const eta = () => {
    const done = run.stepsDone / (run.epochs * run.steps);
    if (done <= 0) return NaN;
    const elapsed = (now() - run.t0) / 1000;
    return (elapsed * (1 - done)) / done;
  };
  return {
    start({ epochs, steps, sequences }) {
      run = { epochs, steps, sequences, t0: now(), stepsDone: 0, sequencesDone: 0 };
    },
    step({ epoch, step, loss, sequences }) {
      run.stepsDone++;
      run.sequencesDone += sequences;
      if (!tty) return;
      const t = now();
      if (t - lastDraw < intervalMs && step < run.steps) return;
      lastDraw = t;
      const filled = Math.round((step / run.steps) * width);
      const bar = `${'#'.repeat(filled)}${'-'.repeat(width - filled)}`;
      stream.write(`\r\x1b[2Kepoch ${epoch}/${run.epochs} [${bar}] ${step}/${run.steps}  loss ${loss.toFixed(4)}  ${rate().toFixed(0)} seq/s  ETA ${clock(eta())}`);
    },
    epochEnd({ epoch, loss, hr, ndcg }) {
      const line = `epoch ${epoch}/${run.epochs}  loss ${loss.toFixed(4)}  valid HR@10 ${hr.toFixed(4)}  NDCG@10 ${ndcg.toFixed(4)}  ${rate().toFixed(0)} seq/s  ETA ${clock(eta())}\n`;
      stream.write(tty ? `\r\x1b[2K${line}` : line);
    },
    done() {
      const line = `trained ${run.epochs} epochs in ${clock((now() - run.t0) / 1000)} (${rate().toFixed(0)} seq/s)\n`;
      stream.write(tty ? `\r\x1b[2K${line}` : line);
    },
  };
}

module.exports = { createProgress, clock };
