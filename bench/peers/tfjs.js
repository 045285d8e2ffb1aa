'use strict';
// @tensorflow/tfjs as a peer (cpu = plain JS kernels, wasm = XNNPACK via WebAssembly):
// softmax(Q·Kᵀ·scale + causal bias)·V on [B,H,L,D]. Optional: skipped with a note when missing.

let tf = null;
let loadError = null;
let wasmReady = null;

function loadTf() {
  if (tf || loadError) return tf;
  try {
    // tfjs prints a hint about tfjs-node on load; it is not wanted here.
    const { log, warn } = console;
    console.log = console.warn = () => {};
    try {
      tf = require('@tensorflow/tfjs');
      // The cpu backend prints its "install tfjs-node" banner on its first tensor, long after the
      // load (tfjs-backend-cpu, MathBackendCPU.write -> backend_util.warn), and warn() is silent in
      // production mode. Production mode also skips tfjs's debug checks, which a benchmark wants.
      tf.enableProdMode();
    } finally {
      Object.assign(console, { log, warn });
    }
  } catch (e) {
    loadError = `@tensorflow/tfjs is not installed (${String(e.message).split('\n')[0]})`;
  }
  return tf;
}

async function useBackend(name, threads) {
  const t = loadTf();
  if (!t) return loadError;
  if (name === 'wasm') {
    if (!wasmReady) {
      wasmReady = (async () => {
        try {
          const wasm = require('@tensorflow/tfjs-backend-wasm');
          const path = require('path');
          wasm.setWasmPaths(path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm')), path.sep));
          if (threads && wasm.setThreadsCount) wasm.setThreadsCount(threads);
          return null;
        } catch (e) {
          return `@tensorflow/tfjs-backend-wasm unavailable: ${String(e.message).split('\n')[0]}`;
        }
      })();
    }
    const err = await wasmReady;
    if (err) return err;
  }
  try {
    const ok = await t.setBackend(name);
    if (!ok) return `tfjs backend '${name}' failed to initialise`;
    await t.ready();
  } catch (e) {
    return `tfjs backend '${name}': ${String(e.message).split('\n')[0]}`;
  }
  // The cpu backend prints its "install tfjs-node" banner on its first tensor write (its
  // `firstUse` flag): not wanted here.
  if (name === 'cpu' && t.backend() && 'firstUse' in t.backend()) t.backend().firstUse = false;
  return null;
}

/** A tfjs sdpa peer on backend `name` ('cpu' | 'wasm'). */
async function tfjsPeer(name, shape, inputs, threads) {
  const err = await useBackend(name, threads);
  if (err) return { error: err };
  const { B, H, L, S, D, causal } = shape;
  const q = tf.tensor4d(inputs.q.data, [B, H, L, D]);
  const k = tf.tensor4d(inputs.k.data, [B, H, S, D]);
  const v = tf.tensor4d(inputs.v.data, [B, H, S, D]);
  let bias = null;
  if (causal) {
    const b = new Float32Array(L * S);
    for (let i = 0; i < L; i++) for (let j = 0; j < S; j++) b[i * S + j] = j <= i + S - L ? 0 : -1e30;
    bias = tf.tensor2d(b, [L, S]);
  }
  const scale = tf.scalar(1 / Math.sqrt(D));
  const run = () => {
    const out = tf.tidy(() => {
      let logits = tf.mul(tf.matMul(q.reshape([B * H, L, D]), k.reshape([B * H, S, D]), false, true), scale);
      if (bias) logits = tf.add(logits, bias);
      return tf.matMul(tf.softmax(logits), v.reshape([B * H, S, D]));
    });
    const data = out.dataSync();
    out.dispose();
    return data;
  };
  const threadsUsed = name === 'wasm' ? (require('@tensorflow/tfjs-backend-wasm').getThreadsCount?.() ?? 1) : 1;
  return {
    peer: { name: `tfjs-${name}`, threads: threadsUsed, run, toBHLD: (o) => o, release: () => [q, k, v, bias, scale].forEach((t) => t && t.dispose()) },
    version: tf.version_core,
  };
}

module.exports = { tfjsPeer, useBackend, loadTf };
