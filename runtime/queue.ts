/**
 * The one-machine stand-in for the scaling that Lambda and Step Functions do in AWS: at most `slots`
 * executions are in their heavy steps (decoding, measuring, captioning) at once, admitted first come, first
 * served; the others wait in line and can say how many runs are ahead of them.
 *
 * Admission is per execution, not per step: an execution admitted for Preprocess keeps its place through
 * Caption, so the first run in finishes about as soon as a run alone would, instead of every run sharing the
 * machine and all of them finishing together at the end. It leaves when it reaches a light step or ends.
 */
export class RunQueue {
  private readonly admitted = new Set<string>();
  private readonly line: Array<{ key: string; admit: () => void }> = [];

  constructor(readonly slots: number) {
    if (!Number.isInteger(slots) || slots < 1) throw new RangeError(`a run queue needs at least one slot (got ${slots})`);
  }

  /** Resolves once `key` holds a slot (at once when it already does); rejects if the signal aborts first. */
  enter(key: string, signal?: AbortSignal): Promise<void> {
    if (this.admitted.has(key)) return Promise.resolve();
    if (this.admitted.size < this.slots && this.line.length === 0) {
      this.admitted.add(key);
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const place = { key, admit: resolve };
      this.line.push(place);
      signal?.addEventListener(
        'abort',
        () => {
          const index = this.line.indexOf(place);
          if (index < 0) return;
          this.line.splice(index, 1);
          reject(signal.reason instanceof Error ? signal.reason : new Error('stopped while waiting for a slot'));
        },
        { once: true },
      );
    });
  }

  /** Gives up `key`'s slot (or its place in line), and admits the next in line. */
  leave(key: string): void {
    if (this.admitted.delete(key)) {
      const next = this.line.shift();
      if (next) {
        this.admitted.add(next.key);
        next.admit();
      }
      return;
    }
    const index = this.line.findIndex((place) => place.key === key);
    if (index >= 0) this.line.splice(index, 1);
  }

  /** The run that has held its slot longest: the one the runtime lets go first when runs compete for the CPU. */
  get oldest(): string | undefined {
    // A Set iterates in insertion order, which is the order of admission.
    return this.admitted.values().next().value;
  }

  /** How many runs will be admitted before `key`, or undefined when it is not waiting. */
  ahead(key: string): number | undefined {
    const index = this.line.findIndex((place) => place.key === key);
    return index < 0 ? undefined : index;
  }

  get running(): number {
    return this.admitted.size;
  }

  get waiting(): number {
    return this.line.length;
  }
}
