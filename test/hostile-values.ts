/**
 * The hostile values of the hostile-input suites: values of every wrong type, objects
 * whose getters and Proxy traps throw, detached buffers. Each suite adds the values of
 * its own parameters.
 */

/** A hostile value, made afresh for each call. */
export interface Hostile {
  readonly label: string;
  readonly make: () => unknown;
}

export function thrower(): never {
  throw new Error("hostile getter");
}

/** An object whose usual field names (and conversions) are getters that throw. */
export function throwingGetters(): object {
  const o = {};
  for (const key of ["value", "len", "buf", "s_addr", "sin_family", "sin6_family", "sin_port", "sin_addr", "sin6_addr"]) {
    Object.defineProperty(o, key, { get: thrower, enumerable: true });
  }
  for (const key of ["hEvent", "Internal", "InternalHigh", "length", "valueOf", "toString"]) {
    Object.defineProperty(o, key, { get: thrower, enumerable: true });
  }
  return o;
}

export const ALL_TRAPS_THROW: ProxyHandler<object> = {
  get: thrower,
  set: thrower,
  has: thrower,
  getPrototypeOf: thrower,
  ownKeys: thrower,
  getOwnPropertyDescriptor: thrower,
  defineProperty: thrower,
  deleteProperty: thrower,
  isExtensible: thrower,
  preventExtensions: thrower,
};

/** A Uint8Array of `size` bytes whose ArrayBuffer was transferred away (detached, byteLength 0). */
export function detachedView(size = 8): Uint8Array {
  const view = new Uint8Array(size);
  structuredClone(view.buffer, { transfer: [view.buffer] });
  return view;
}

/** A Proxy whose handler was revoked: every operation on it throws a TypeError. */
export function revokedProxy(): object {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  return proxy;
}

/** An object whose conversions to a primitive (valueOf, toString, Symbol.toPrimitive) throw. */
export function throwingValueOf(): object {
  return { valueOf: thrower, toString: thrower, [Symbol.toPrimitive]: thrower };
}

/** Values every parameter gets. */
export const COMMON: readonly Hostile[] = [
  { label: "undefined", make: () => undefined },
  { label: "null", make: () => null },
  { label: "NaN", make: () => Number.NaN },
  { label: "-1", make: () => -1 },
  { label: "2**53", make: () => 2 ** 53 },
  { label: "string", make: () => "\u0000hostile" },
  { label: "symbol", make: () => Symbol("hostile") },
  { label: "throwing getters", make: throwingGetters },
  { label: "throwing Proxy", make: () => new Proxy({}, ALL_TRAPS_THROW) },
  { label: "frozen object", make: () => Object.freeze({ value: 0 }) },
  { label: "detached buffer", make: () => detachedView() },
  { label: "revoked Proxy", make: revokedProxy },
  { label: "throwing valueOf", make: throwingValueOf },
  { label: "bigint", make: () => 1n },
];

/** Further numbers: out of range, not finite, not integers. */
export const NUMBERS: readonly Hostile[] = [
  { label: "Infinity", make: () => Number.POSITIVE_INFINITY },
  { label: "-Infinity", make: () => Number.NEGATIVE_INFINITY },
  { label: "fraction", make: () => 1.5 },
  { label: "2**64 bigint", make: () => 2n ** 64n },
];

/** The shape of the facade's WSAOVERLAPPED class, for {@link overlappedValues}. */
type OverlappedClass = new () => object;

/**
 * Hostile WSAOVERLAPPED structures: real instances (they pass `instanceof`) that cannot be
 * written, or whose fields throw when read or written.
 */
export function overlappedValues(WSAOVERLAPPED: OverlappedClass): readonly Hostile[] {
  /** A subclass whose instances turn every field into throwing accessors. */
  class ThrowingOverlapped extends WSAOVERLAPPED {
    constructor() {
      super();
      for (const key of ["Internal", "InternalHigh", "Offset", "OffsetHigh", "hEvent"]) {
        Object.defineProperty(this, key, { get: thrower, set: thrower, configurable: true });
      }
    }
  }
  /** A subclass whose fields read normally but refuse writes (getters without setters). */
  class ReadOnlyOverlapped extends WSAOVERLAPPED {
    constructor() {
      super();
      for (const key of ["Internal", "InternalHigh"]) Object.defineProperty(this, key, { get: () => 0, configurable: true });
    }
  }
  return [
    { label: "frozen WSAOVERLAPPED", make: () => Object.freeze(new WSAOVERLAPPED()) },
    { label: "WSAOVERLAPPED subclass with throwing accessors", make: () => new ThrowingOverlapped() },
    { label: "WSAOVERLAPPED subclass with read-only fields", make: () => new ReadOnlyOverlapped() },
    { label: "WSAOVERLAPPED Proxy whose traps throw", make: () => new Proxy(new WSAOVERLAPPED(), ALL_TRAPS_THROW) },
    {
      label: "WSAOVERLAPPED whose Internal is a Symbol",
      make: () => Object.assign(new WSAOVERLAPPED(), { Internal: Symbol("hostile") }),
    },
  ];
}

/** Extra values for counts. */
export const COUNTS: readonly Hostile[] = [{ label: "2**32-1", make: () => 2 ** 32 - 1 }];

/** Extra values for array parameters. */
export const ARRAYS: readonly Hostile[] = [
  { label: "throwing array Proxy", make: () => new Proxy([], ALL_TRAPS_THROW) },
  {
    label: "array with a throwing element",
    make: () => {
      const a: unknown[] = [];
      Object.defineProperty(a, 0, { get: thrower, enumerable: true });
      return a;
    },
  },
  { label: "array holding a throwing Proxy", make: () => [new Proxy({}, ALL_TRAPS_THROW)] },
];

/** Extra values for byte parameters. */
export const BYTES: readonly Hostile[] = [{ label: "detached ArrayBuffer", make: () => detachedView().buffer }];
