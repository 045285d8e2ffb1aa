// Hostile-input fuzzer shared by test/fuzz.test.mjs (CI budget) and scripts/fuzz-long.mjs (long run).
//
// Every case is drawn by fast-check with a fixed seed and built deterministically from a few
// integers, so a failing case prints as a one-line recipe and replays exactly. A case is:
//   - an op the backend registers, with small valid inputs: the op descriptor's random builder
//     (ak.OPS[op].cases.random, src/ops/<op>.ts: random sizes, options, masks, biases);
//   - then either a set of VALID but awkward representations (representations.mjs), whose result
//     must equal reference's result on plain copies of the same numbers (bit-identical for
//     reference itself, the backend's measured verify tolerance for the others), or
//   - ONE corruption (corruptions.mjs: wrong types, lying shapes, bad dims, overflowing size
//     products, detached buffers, wrong broadcast shapes, out-of-range counts, exclusion indices and
//     key lengths, options and dispatch options of the wrong type, throwing getters and Proxies).
//     Corruptions marked `must` are invalid by the contract and must throw an AttnkitError; the
//     others may be valid (then the result is cross-checked against reference on the same input).
// The property (run.mjs): a correct result or an `instanceof AttnkitError` throw (a rejection for
// the async twins). Anything else (an untyped error, a wrong number, an accepted invalid input) is
// recorded as a failure with its recipe. A crash kills the process: scripts/fuzz-long.mjs runs
// each backend in a child process and reports the last case started.
//
// raw-addon.mjs bypasses the TypeScript validation: it captures the kernel argument structs the ops
// build, corrupts fields and calls the addon's functions directly (a JS Error or a result, never a crash).
export { FUZZ_SEED, buildCase, callOp, caseArbitrary, fuzzBackend, newStats, runCase } from './run.mjs';
export { CORRUPT_NAMES } from './corruptions.mjs';
export { REPR_NAMES } from './representations.mjs';
export { compareFlat, flatten } from './compare.mjs';
export { captureKernelArgs, fuzzRaw } from './raw-addon.mjs';
