// Gradient cases of embeddingBackward: the forward is the float64 gather `out[n] = table[indices[n]]`
// written here from the lookup's definition, and the checked input is the table. The padding row
// is a constant of the forward (PyTorch's padding_idx: it is not trained, so its outputs do not
// depend on the table), which is why its gradient is 0.
import * as ak from 'attnkit';
import { ORACLES } from '../oracle.mjs';
import { rand64, tensor64 } from './fd.mjs';

/** Seeded item indices in [0, numItems); `hot` positions (every other one from the start) set to item `hotItem`. */
function indices(n, numItems, seed, hot = 0, hotItem = 0) {
  const u = rand64(n, seed);
  const out = Int32Array.from(u, (x) => Math.min(numItems - 1, Math.floor(((x + 1) / 2) * numItems)));
  for (let k = 0; k < hot && 2 * k < n; k++) out[2 * k] = hotItem;
  return out;
}

function gatherCase(label, lead, E, numItems, seed, opts = {}, hot = 0) {
  const N = lead.reduce((a, b) => a * b, 1);
  const idx = indices(N, numItems, seed, hot, Math.min(1, numItems - 1));
  const pad = opts.paddingIndex === undefined ? -1 : opts.paddingIndex < 0 ? numItems + opts.paddingIndex : opts.paddingIndex;
  return {
    label,
    inputs: { table: tensor64([numItems, E], seed + 1) },
    dOut: rand64(N * E, seed + 2),
    // out[n, e] = table[indices[n], e]; the padding row is the constant 0.
    forward: ({ table }) => {
      const out = new Float64Array(N * E);
      for (let n = 0; n < N; n++) {
        if (idx[n] === pad) continue;
        for (let e = 0; e < E; e++) out[n * E + e] = table.data[idx[n] * E + e];
      }
      return out;
    },
    call: (_inputs32, dOut32) => ak.embeddingBackward({ data: dOut32, shape: [...lead, E] }, idx, numItems, opts, { backend: 'reference' }),
    grads: { table: 'output' },
    oracle: (_inputs, dOut) => ORACLES.embeddingBackward([{ data: dOut, shape: [...lead, E] }, idx, numItems, opts]),
  };
}

export function gradCases() {
  return [
    gatherCase('[23,5] into 7 items (duplicates)', [23], 5, 7, 11),
    gatherCase('[2,6,4] into 3 items, paddingIndex 1', [2, 6], 4, 3, 21, { paddingIndex: 1 }),
    gatherCase('[31,3] into 5 items, paddingIndex -1 (item 4)', [31], 3, 5, 31, { paddingIndex: -1 }),
    gatherCase('[500,3] item 1 at 250 positions', [500], 3, 4, 41, {}, 250),
    gatherCase('[9,6] into 1 item', [9], 6, 1, 51),
    gatherCase('[12,2] into 40 items (most unused: gradient 0)', [12], 2, 40, 61),
  ];
}
