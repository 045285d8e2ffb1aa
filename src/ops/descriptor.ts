/**
 * The shape of an op descriptor: the one place that says what an op is. Each `src/ops/<op>.ts`
 * exports one ({@link OpDescriptor}); `src/ops/registry.ts` lists them, and everything that needs
 * to know the ops (backend tolerance tables, the bench, `attnkit verify`, the fuzzer, the memory
 * and valgrind subsets, the arm64 check, the README's op table) iterates that list instead of
 * keeping a table of its own.
 *
 * What a descriptor holds:
 * - the public call: name, positional parameters (tensor ranks and dim names), the options it
 *   accepts with their kinds and defaults (argument checks read these, with the messages of
 *   src/validate.ts), and `call` / `callAsync` (the public function and its async twin);
 * - the cost model (flops and bytes moved for a bench shape);
 * - the measured verify tolerance on each built-in backend;
 * - case builders: known answers (closed forms every backend must reproduce), random and
 *   adversarial cases (small, odd sizes), bench cases (the default shapes), the fuzzer's random
 *   builder, and one small call for the memory and valgrind checks.
 *
 * @module
 */
import type { DispatchOptions, Tolerance } from '../dispatch';
import { DTypeError, ValueError, describeType } from '../errors';
import type { OpName, DType } from '../kernels';
import { optCache, type KvCache } from '../kvCache';
import { optionsObject } from '../options';
import { floatOfRank, optBool, optEnum, optFinite, positiveInt, tensorOfRank, type FloatChecked } from '../validate';

/**
 * How an option is checked, and (for the fuzzer) which values of the wrong kind it must refuse.
 * `boolean`, `finite`, `positiveInt`, `enum` and `cache` (a {@link KvCache}, checked by class and
 * state; its fit to the op's shapes is the op's check) are read by {@link readOption}; the
 * tensor-valued kinds (`mask`, `bias`, `lengths`, `out`, `exclude`, `timestamps`: per-event times
 * as a Float64Array, Int32Array or Float32Array) and the attention limits
 * (`causal`, `window`) need the op's shapes, so the op checks them with the matching helper of
 * src/validate.ts or src/ops/attentionLimits.ts.
 */
export type OptionSpec =
  | { readonly kind: 'boolean'; readonly default: boolean; readonly doc: string }
  | { readonly kind: 'finite'; readonly default?: number; readonly greaterThan?: number; readonly doc: string }
  | { readonly kind: 'positiveInt'; readonly default?: number; readonly doc: string }
  | { readonly kind: 'enum'; readonly values: readonly string[]; readonly default: string; readonly doc: string }
  | { readonly kind: 'mask' | 'bias' | 'lengths' | 'out' | 'exclude' | 'causal' | 'window' | 'cache' | 'timestamps'; readonly doc: string }
  /** Accepted as a key only to refuse it with a clear message (`why`). */
  | { readonly kind: 'refused'; readonly why: string; readonly doc: string };

/** A positional parameter of the public call. */
export interface ParamSpec {
  /** Its name in messages (`q`, `params`, `options`, ...). */
  readonly name: string;
  /**
   * `tensor` with its dim names (rank = their count; `[]` = any rank >= 0), or another kind:
   * `indices` an Int32Array of indices, `state` an optimizer's state object (adamStep's),
   * `jagged` a jagged tensor (`{ values, offsets }`, src/jagged.ts) whose values have the dim names.
   */
  readonly kind: 'tensor' | 'tensor?' | 'params' | 'options' | 'int' | 'indices' | 'state' | 'jagged';
  /** Dim names of a tensor parameter (e.g. `['B','Hq','L','D']`); absent = any rank. */
  readonly dims?: readonly string[];
  /** For an `options` parameter: the option a bare number in its place stands for (layerNorm: `eps`). */
  readonly numberMeans?: string;
}

/** A deterministic source of random choices for the case builders (the fuzzer's and the specs'). */
export interface CaseRandom {
  /** An integer in `[lo, hi]`. */
  int(lo: number, hi: number): number;
  /** A float in `[0, 1)`. */
  f(): number;
  /** true with probability `p` (default 0.5). */
  bool(p?: number): boolean;
  /** One element of `items`. */
  pick<T>(items: readonly T[]): T;
}

/** One call of an op: the positional arguments before the dispatch options. */
export interface OpCase {
  /** What the case exercises. */
  readonly label: string;
  /** The arguments, as the public function takes them. */
  readonly args: unknown[];
  /**
   * Largest logit magnitude in the case, for ill-conditioned inputs: rounding a logit of size M
   * moves its softmax weight by up to M·2^-24 relatively, so such a case is checked at
   * max(tolerance, 8·M·2^-24), the same derived bound on every backend.
   */
  readonly logitMagnitude?: number;
}

/** A closed-form case: the op's named outputs must equal `want` within the backend's tolerance. */
export interface KnownAnswer extends OpCase {
  /** Expected values per output field (`output`, `weights`, `lse`, `indices`, `scores`). */
  readonly want: Readonly<Record<string, readonly number[]>>;
}

/** A bench case: a default shape, its cost, and a builder of the call. */
export interface BenchCase {
  /** Short description (`'SASRec-sized block'`). */
  readonly label: string;
  /** The sizes, as numbers (and flags), e.g. `{ B, H, L, S, D, causal }`. */
  readonly shape: Readonly<Record<string, number | boolean | readonly number[]>>;
  /** Builds the inputs once; `args` is the call, `outArgs` the same call writing into a preallocated `options.out`. */
  make(): { args: unknown[]; outArgs?: unknown[] };
}

/** Work and memory traffic of one call on a bench shape (for GFLOP/s, GB/s and share of peak). */
export interface Cost {
  /** Floating-point operations (nominal per-element counts for elementwise ops, stated in the descriptor). */
  readonly flops: number;
  /** Bytes that must cross the memory system at least once: inputs read and outputs written. */
  readonly bytes: number;
}

/** Where and how each built-in backend implements the op, for tools that check kernels per ISA. */
export interface NativeFacts {
  /** The op has a per-ISA SIMD kernel of its own, checked under qemu for arm64 (`scripts/arm64-check.sh`). */
  readonly isaKernel: boolean;
}

/** The descriptor of one op. */
export interface OpDescriptor<O extends OpName = OpName> {
  /** The op's one name, in every layer. */
  readonly name: O;
  /** One line for the README's op table. */
  readonly summary: string;
  /** The public call as the README shows it, e.g. `sdpa(q, k, v, options?, dispatch?)`. */
  readonly signature: string;
  /** Positional parameters before the dispatch options. */
  readonly params: readonly ParamSpec[];
  /** Options the op accepts (an unknown key is a ValueError). */
  readonly options: Readonly<Record<string, OptionSpec>>;
  /** Index of the options parameter in `params` (-1: the op takes none). */
  readonly optionsIndex: number;
  /** Verify tolerance on each built-in backend, measured (see the comment at each). */
  readonly tolerances: Readonly<{ native: Tolerance; gpu: Tolerance }>;
  /** Cost of one call on a bench shape. */
  cost(shape: BenchCase['shape']): Cost;
  /** The public function (sync). */
  call(args: readonly unknown[], dispatch?: DispatchOptions): unknown;
  /** The public function's async twin. */
  callAsync(args: readonly unknown[], dispatch?: DispatchOptions): Promise<unknown>;
  /** Native-backend facts. */
  readonly native: NativeFacts;
  /**
   * The op's float tensors (inputs, parameters, bias) may also be float16 or bfloat16 (a
   * {@link HalfTensor}, or an onnxruntime float16 tensor); the kernel args then name them in
   * `dtypes`. False: float32 only (a half tensor is a DTypeError).
   */
  readonly half: boolean;
  /** Case builders. */
  readonly cases: {
    /** Closed forms every backend must reproduce. */
    knownAnswers(): KnownAnswer[];
    /** Random and adversarial cases (odd sizes, L != S, one key, empty rows, huge logits, NaN), cross-checked against reference. `quick`: fewer. */
    checks(quick: boolean): OpCase[];
    /** The bench's default shapes (`quick`: smaller ones that finish in seconds). */
    bench(quick: boolean): BenchCase[];
    /** The fuzzer's random valid call (`small`: sizes for the slow gpu path). */
    random(R: CaseRandom, small: boolean): unknown[];
    /** One small call, for the memory (RSS over repeated calls) and valgrind checks. */
    small(): unknown[];
  };
  /** For the fuzzer: where the op's broadcast operands and key lengths live in a random call's arguments. */
  readonly fuzz: {
    /** Target shape of `options.mask` / `options.bias` for these args, and whether a bias is accepted; null if none. */
    broadcastTarget(args: readonly unknown[]): { shape: number[]; bias: boolean } | null;
    /** `{ B, S }` that `options.keyLengths` is checked against; null if the op has none. */
    lengthsTarget(args: readonly unknown[]): { B: number; S: number } | null;
    /** Make one op-specific argument invalid in place (an out-of-range count, a bad enum, ...); returns what it did. */
    invalidate(R: CaseRandom, args: unknown[]): string;
  };
}

/** A tensor parameter: its name, and its dim names (rank = their count). */
export function tensor(name: string, dims: readonly string[], optional = false): ParamSpec {
  return { name, kind: optional ? 'tensor?' : 'tensor', dims };
}

/** The checked options object of a call: its keys are those of the descriptor (a ValueError names an unknown one). */
export function optionsFor<T extends object>(d: Pick<OpDescriptor, 'options'>, value: unknown): Partial<T> {
  return optionsObject<T>(value, 'options', Object.keys(d.options) as (keyof T & string)[]);
}

/**
 * Read a scalar option as its spec says (default applied), with the messages of src/validate.ts.
 * `def` overrides the spec's default (for defaults that depend on the inputs, e.g. `scale`).
 */
export function readOption(d: Pick<OpDescriptor, 'options'>, o: Record<string, unknown>, key: string, def?: unknown): never {
  const spec = d.options[key];
  const argument = `options.${key}`;
  const v = o[key];
  switch (spec?.kind) {
    case 'boolean':
      return optBool(v, argument, (def as boolean | undefined) ?? spec.default) as never;
    case 'finite':
      return optFinite(v, argument, (def as number | undefined) ?? spec.default ?? NaN, spec.greaterThan) as never;
    case 'positiveInt':
      return positiveInt(v, argument, (def as number | undefined) ?? spec.default) as never;
    case 'enum':
      return optEnum(v, argument, spec.values, (def as string | undefined) ?? spec.default) as never;
    case 'cache':
      return optCache(v, argument) as KvCache<DType> | null as never;
    case 'refused':
      if (v !== undefined && v !== null) throw new ValueError(argument, spec.why);
      return undefined as never;
    default:
      throw new DTypeError(argument, 'a scalar option', describeType(spec?.kind));
  }
}

/**
 * Check a tensor parameter of the descriptor (its rank and dim names come from `params`); a half
 * tensor only when the op takes them (`half`).
 */
export function tensorParam(d: Pick<OpDescriptor, 'params' | 'half'>, name: string, value: unknown): FloatChecked {
  const p = d.params.find((x) => x.name === name);
  if (d.half) return floatOfRank(value, name, p?.dims ?? []);
  const t = tensorOfRank(value, name, p?.dims ?? []);
  return { data: t.data, shape: t.shape, dtype: 'float32' };
}

/** The option kinds' values of the wrong kind or range, for the fuzzer (each must be refused with a typed error). */
export const BAD_OPTION_VALUES: Readonly<Record<OptionSpec['kind'], readonly unknown[]>> = {
  boolean: [1, 'true', null, 0, 'no'],
  finite: [NaN, Infinity, -Infinity, '0.5', null, 1n],
  positiveInt: [0, -1, 1.5, '2', NaN, 2 ** 53 + 2, null],
  enum: ['no-such-value', 5, null],
  mask: ['abc', 3, [1, 0], new Uint8Array(3)],
  bias: ['abc', 3, new Float32Array(3)],
  lengths: [[1, 2], new Float32Array(4), new Uint32Array(4), 'abc', 3],
  out: ['abc', 3, new Float64Array(2)],
  exclude: ['abc', 5, { length: 1 }],
  causal: [1, 'yes', 'upper-left', {}, { offset: 1.5 }, { offset: new Float32Array(1) }, { offset: 2 ** 31 }],
  window: [3, 'abc', { left: -1 }, { left: 1.5 }, { right: NaN }, { right: '2' }, { left: 2 ** 31 }, { size: 2 }],
  cache: ['abc', 3, {}, new Float32Array(4), { k: null, v: null, lengths: new Int32Array(1) }],
  timestamps: ['abc', 3, [0, 1], new Uint32Array(2), new BigInt64Array(2), { length: 1 }],
  refused: [new Float32Array(4)],
};

/** What an op file declares: the descriptor without `call` / `callAsync`, plus the public function and its async twin. */
export type OpDeclaration<O extends OpName> = Omit<OpDescriptor<O>, 'call' | 'callAsync' | 'params' | 'optionsIndex'> & {
  /** The positional parameters; `'params'` and `'options'` stand for parameters of that name and kind. */
  readonly params: readonly (ParamSpec | 'params' | 'options')[];
  /** The public function: the positional parameters of `params`, then the dispatch options. */
  readonly fn: (...args: never[]) => unknown;
  /** Its async twin. */
  readonly fnAsync: (...args: never[]) => Promise<unknown>;
};

/**
 * Build an op's descriptor: `call(args, dispatch)` passes `args` (padded with `undefined` to the
 * length of `params`, so the dispatch options land in their place) to the public function.
 */
export function defineOp<O extends OpName>(decl: OpDeclaration<O>): OpDescriptor<O> {
  const { fn, fnAsync, params: declared, ...rest } = decl;
  const params = declared.map((p): ParamSpec => (typeof p === 'string' ? { name: p, kind: p } : p));
  const n = params.length;
  const positional = (a: readonly unknown[]): unknown[] => Array.from({ length: n }, (_, i) => a[i]);
  const call = fn as (...args: unknown[]) => unknown;
  const callAsync = fnAsync as (...args: unknown[]) => Promise<unknown>;
  return Object.freeze({
    ...rest,
    params,
    optionsIndex: params.findIndex((p) => p.kind === 'options'),
    call: (args: readonly unknown[], dispatch?: DispatchOptions) => call(...positional(args), dispatch),
    callAsync: (args: readonly unknown[], dispatch?: DispatchOptions) => callAsync(...positional(args), dispatch),
  });
}
