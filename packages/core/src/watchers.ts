/**
 * The readiness watchers of one backend socket (`BackendSocket.watchReadiness`): who waits
 * for readability or writability, so that a backend tells them when either may have
 * turned true, and watches the OS only for what someone wants.
 */
interface Watcher {
  readonly interest: number;
  readonly onChange: () => void;
}

export class ReadinessWatchers {
  readonly #watchers = new Set<Watcher>();

  /** Adds a watcher; returns its removal. */
  add(interest: number, onChange: () => void): () => void {
    const watcher: Watcher = { interest, onChange };
    this.#watchers.add(watcher);
    return () => {
      this.#watchers.delete(watcher);
    };
  }

  /** The union of what the watchers want (`READY_READ | READY_WRITE`). */
  get interest(): number {
    let interest = 0;
    for (const w of this.#watchers) interest |= w.interest;
    return interest;
  }

  /** Tells the watchers interested in any of `ready` (or all of them, for 0: the socket closed). */
  notify(ready: number): void {
    if (this.#watchers.size === 0) return;
    for (const w of [...this.#watchers]) if (ready === 0 || (w.interest & ready) !== 0) w.onChange();
  }
}
