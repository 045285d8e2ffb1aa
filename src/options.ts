/**
 * The options-object check every public function shares (internal: not re-exported from the
 * package). A leaf module: it depends only on the errors, so tensor.ts and the dispatcher use it too.
 *
 * @module
 */
import { DTypeError, ValueError, describeType } from './errors';

/**
 * Check that an options (or params) argument is an object (or absent). With `keys`, an own key
 * outside that list is a ValueError naming it: a misspelt option (`casual: true`) must not be
 * silently ignored, as a Python keyword argument would not be.
 */
export function optionsObject<T extends object>(value: unknown, argument: string, keys?: readonly (keyof T & string)[]): Partial<T> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object') throw new DTypeError(argument, 'an options object', describeType(value));
  // Reads go through a guard: a getter or Proxy trap that throws becomes a DTypeError naming the
  // field (found by the fuzzer, test/fuzz/), not the caller's own exception escaping untyped.
  const unreadable = (key: PropertyKey, e: unknown): DTypeError =>
    new DTypeError(`${argument}.${String(key)}`, 'a readable value', 'a getter or Proxy trap that throws', String((e as Error)?.message ?? e));
  if (keys) {
    let own: string[];
    try {
      own = Object.keys(value);
    } catch (e) {
      throw new DTypeError(argument, 'an object whose keys can be listed', 'a Proxy whose ownKeys trap throws', String((e as Error)?.message ?? e));
    }
    for (const k of own) {
      if (!(keys as readonly string[]).includes(k)) throw new ValueError(`${argument}.${k}`, `unknown key; expected one of ${keys.join(', ')}`);
    }
  }
  return new Proxy(value, {
    get(target, key) {
      try {
        return Reflect.get(target, key);
      } catch (e) {
        throw unreadable(key, e);
      }
    },
    has(target, key) {
      try {
        return Reflect.has(target, key);
      } catch (e) {
        throw unreadable(key, e);
      }
    },
  }) as Partial<T>;
}
