/**
 * Freezes a value and everything it holds, in place, and returns it. A part that is frozen
 * already is taken as frozen all the way down (as everything this module froze is).
 *
 * @example const args = deepFreeze({ command: 'ls', env: { A: '1' } }); Object.isFrozen(args.env) // true
 */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
