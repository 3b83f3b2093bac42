/** A first-in first-out queue with O(1) push and shift (an array and a head index). */
export class Deque<T> {
  #items: Array<T | undefined> = [];
  #head = 0;

  get length(): number {
    return this.#items.length - this.#head;
  }

  push(item: T): void {
    this.#items.push(item);
  }

  /** The oldest item, left in place. */
  peek(): T | undefined {
    return this.#items[this.#head];
  }

  /** The `i`th oldest item (0: the oldest), left in place. */
  at(i: number): T | undefined {
    return this.#items[this.#head + i];
  }

  shift(): T | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head++] = undefined;
    if (this.#head === this.#items.length) {
      this.#items.length = 0;
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }

  /** Empties the queue, returning what it held, oldest first. */
  drain(): T[] {
    const out = this.#items.slice(this.#head) as T[];
    this.#items = [];
    this.#head = 0;
    return out;
  }
}

interface Slot<K, V> {
  readonly key: K;
  readonly value: V;
  live: boolean;
}

/**
 * A first-in first-out queue of pending operations, keyed by their completion: O(1) push
 * and shift, and O(1) withdrawal of any one of them (an AbortSignal, a cancellation), so
 * that withdrawing many is linear in their number. A withdrawn entry is only marked; it
 * leaves the underlying deque when it reaches the front.
 */
export class PendingQueue<K, V> {
  readonly #slots = new Deque<Slot<K, V>>();
  readonly #byKey = new Map<K, Slot<K, V>>();

  /** Entries queued and not withdrawn. */
  get length(): number {
    return this.#byKey.size;
  }

  push(key: K, value: V): void {
    const slot: Slot<K, V> = { key, value, live: true };
    this.#slots.push(slot);
    this.#byKey.set(key, slot);
  }

  /** The oldest entry, left in place. */
  peek(): V | undefined {
    this.#skipWithdrawn();
    return this.#slots.peek()?.value;
  }

  shift(): V | undefined {
    this.#skipWithdrawn();
    const slot = this.#slots.shift();
    if (!slot) return undefined;
    this.#byKey.delete(slot.key);
    return slot.value;
  }

  /**
   * Copies up to `max` of the oldest entries, oldest first, into `out` (from index 0),
   * leaving them queued; returns how many.
   */
  peekMany(out: V[], max: number): number {
    this.#skipWithdrawn();
    let n = 0;
    for (let i = 0; n < max; i++) {
      const slot = this.#slots.at(i);
      if (!slot) break;
      if (slot.live) out[n++] = slot.value;
    }
    return n;
  }

  /** Withdraws the entry of `key`; true if it was queued. */
  remove(key: K): boolean {
    const slot = this.#byKey.get(key);
    if (!slot) return false;
    slot.live = false;
    this.#byKey.delete(key);
    return true;
  }

  /** Empties the queue, returning what it held, oldest first. */
  drain(): V[] {
    const out: V[] = [];
    for (const slot of this.#slots.drain()) if (slot.live) out.push(slot.value);
    this.#byKey.clear();
    return out;
  }

  #skipWithdrawn(): void {
    while (this.#slots.peek()?.live === false) this.#slots.shift();
  }
}
