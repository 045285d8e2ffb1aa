/**
 * The dispatcher: the backend registry, selection (`'auto'` or a name), execution, and the
 * cross-check of any result against `reference`. One file per concern; this one re-exports them.
 *
 * @module
 */
export * from './types';
export { registerBackend, unregisterBackend, resetAvailability, availability, backends, getBackend } from './registry';
export { explainSelection } from './select';
export { sampleRows, newComparison, compareElement, compareResults, type ComparisonAcc } from './compare';
export { dispatch, dispatchAsync, setReferenceAsyncRunner } from './run';
