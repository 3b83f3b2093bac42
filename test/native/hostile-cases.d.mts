// Types of hostile-cases.mjs, for addon-hostile.test.ts.

/** What a call's result must be. */
export interface Expectation {
  readonly what: string;
  test(result: unknown): boolean;
}

/** One call of a binding function. */
export interface HostileCase {
  readonly fn: string;
  readonly name: string;
  readonly expect: Expectation;
  /** The library bug that makes this case fail (its result is wrong). */
  readonly knownBug?: string;
  /** The library bug this case reaches that only a memory checker sees. */
  readonly memoryBug?: string;
  /** The case calls unwatch (hostile-run leaves those out with --skip-known-bugs). */
  readonly usesUnwatch?: boolean;
  args(): unknown[];
}

export interface CaseResult extends HostileCase {
  readonly ok: boolean;
  readonly outcome: string;
  readonly result?: unknown;
}

/**
 * Two bound sockets on 127.0.0.1 (h sends, rx receives), an unbound one and a watcher of h
 * (POSIX); on Windows a bound socket nothing is sent to (idle, else -1) and the completions
 * the recorder (onCompletion, registered with onComplete) received: [id, status, bytes, flags].
 */
export interface Context {
  readonly h: number;
  readonly rx: number;
  readonly rxPort: number;
  readonly unbound: number;
  readonly watcher: unknown;
  readonly idle: number;
  readonly completions: number[][];
  readonly onCompletion: (id: number, status: number, bytes: number, flags: number) => void;
}

/** The addon's binding, as loadBinding() returns it. */
export type Binding = Record<string, unknown>;

/** Whether the binding is Windows' (win.c): its functions, and WSA codes. */
export const WINDOWS: boolean;
/** The WSA codes the Windows cases expect. */
export const WSA: {
  readonly WSA_INVALID_HANDLE: number;
  readonly WSA_IO_PENDING: number;
  readonly WSA_OPERATION_ABORTED: number;
  readonly WSAEFAULT: number;
  readonly WSAEINVAL: number;
  readonly WSAEWOULDBLOCK: number;
  readonly WSAENOTSOCK: number;
  readonly WSAEMSGSIZE: number;
  readonly WSAENOBUFS: number;
};
/** The functions this OS's binding exports. */
export const KNOWN_FUNCTIONS: readonly string[];
/** Windows: a fresh receive id. */
export function nextId(): number;
/** Windows: posts a receive on ctx.idle (pending); its id. */
export function postIdle(b: Binding, ctx: Context): number;
export const EINVAL: number;
export const EFAULT: number;
export const EBADF: number;
export function neg(code?: number): Expectation;
export function detach(view: Uint8Array): void;
export function detached(n?: number): Uint8Array;
export function openContext(b: Binding): Context;
export function closeContext(b: Binding, ctx: Context): void;
export function positiveControls(b: Binding, ctx: Context): HostileCase[];
export function sweepCases(b: Binding, ctx: Context): HostileCase[];
export function specificCases(b: Binding, ctx: Context, options?: { scale?: number }): HostileCase[];
export function knownBugCases(b: Binding, ctx: Context, options?: { forceGc?: (() => void) | null }): HostileCase[];
export function runCase(b: Binding, c: HostileCase): Promise<CaseResult>;
export function retain<T>(watcher: T): T;
export function staleWatcherProbe(b: Binding, h: number, attempts?: number): Promise<Array<{ want: number; fired: number }>>;
