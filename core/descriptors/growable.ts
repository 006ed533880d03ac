/** An append-only Float32 series that doubles its storage as it grows, so a 60-minute stream costs O(frames), not O(samples). */
export class FloatSeries {
  private data: Float32Array;
  length = 0;

  constructor(initialCapacity = 1024) {
    this.data = new Float32Array(initialCapacity);
  }

  push(value: number): void {
    if (this.length === this.data.length) this.grow(this.length + 1);
    this.data[this.length++] = value;
  }

  /** Appends a whole row (e.g. the 12 values of a chroma frame). */
  pushRow(values: ArrayLike<number>): void {
    if (this.length + values.length > this.data.length) this.grow(this.length + values.length);
    for (let i = 0; i < values.length; i++) this.data[this.length++] = values[i];
  }

  /** A view on the stored values (no copy); valid until the next push. */
  values(): Float32Array {
    return this.data.subarray(0, this.length);
  }

  private grow(needed: number): void {
    let capacity = this.data.length * 2;
    while (capacity < needed) capacity *= 2;
    const next = new Float32Array(capacity);
    next.set(this.data.subarray(0, this.length));
    this.data = next;
  }
}
