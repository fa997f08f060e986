/**
 * A quantile sketch with bounded relative error (the DDSketch scheme): a positive value v goes
 * to bucket ceil(log_gamma(v)) with gamma = (1 + a) / (1 - a), and a quantile is answered by
 * the bucket's midpoint 2·gamma^i / (gamma + 1), which is within a·v of every value in the
 * bucket. With a = 1% and values from 1 µs to 11 days in milliseconds, a sketch has at most
 * ~1,400 buckets, however many values it has seen. Zero and negative values are counted apart.
 */
export const RELATIVE_ACCURACY = 0.01;
const GAMMA = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY);
const LOG_GAMMA = Math.log(GAMMA);
/** Values at or below this count as zero (1 ns in milliseconds, 1e-9 of a confidence). */
const MIN_POSITIVE = 1e-9;

export class QuantileSketch {
  /** counts[k] holds bucket offset + k. */
  private counts: Float64Array = new Float64Array(0);
  private offset = 0;
  private zeroCount = 0;
  count = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;

  add(value: number, weight = 1): void {
    this.count += weight;
    this.sum += value * weight;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
    if (value <= MIN_POSITIVE) {
      this.zeroCount += weight;
      return;
    }
    const index = Math.ceil(Math.log(value) / LOG_GAMMA);
    let k = index - this.offset;
    if (k < 0 || k >= this.counts.length) k = this.grow(index);
    this.counts[k] += weight;
  }

  /** Makes room for bucket `index` and returns its position. */
  private grow(index: number): number {
    const n = this.counts.length;
    if (n === 0) {
      this.counts = new Float64Array(32);
      this.offset = index - 16;
      return 16;
    }
    const lo = Math.min(this.offset, index);
    const hi = Math.max(this.offset + n - 1, index);
    // Grow with slack on the side that overflowed, so a drifting series does not copy every time.
    const size = Math.max(hi - lo + 1, n * 2);
    const newOffset = index < this.offset ? hi - size + 1 : lo;
    const next = new Float64Array(size);
    next.set(this.counts, this.offset - newOffset);
    this.counts = next;
    this.offset = newOffset;
    return index - newOffset;
  }

  merge(other: QuantileSketch): void {
    if (other.count === 0) return;
    this.count += other.count;
    this.sum += other.sum;
    this.zeroCount += other.zeroCount;
    if (other.min < this.min) this.min = other.min;
    if (other.max > this.max) this.max = other.max;
    for (let k = 0; k < other.counts.length; k++) {
      const c = other.counts[k];
      if (c === 0) continue;
      const index = other.offset + k;
      let j = index - this.offset;
      if (j < 0 || j >= this.counts.length) j = this.grow(index);
      this.counts[j] += c;
    }
  }

  /**
   * The q-quantile (0 ≤ q ≤ 1): the value of rank q·(count − 1) in sorted order, within 1% of
   * it; min and max are exact. null when the sketch is empty.
   */
  quantile(q: number): number | null {
    if (this.count === 0) return null;
    if (q <= 0) return this.min;
    if (q >= 1) return this.max;
    const rank = q * (this.count - 1);
    if (rank < this.zeroCount) return Math.max(this.min, 0);
    let seen = this.zeroCount;
    for (let k = 0; k < this.counts.length; k++) {
      seen += this.counts[k];
      if (seen > rank) {
        const v = (2 * Math.pow(GAMMA, this.offset + k)) / (GAMMA + 1);
        return Math.min(Math.max(v, this.min), this.max);
      }
    }
    return this.max;
  }

  mean(): number | null {
    return this.count === 0 ? null : this.sum / this.count;
  }

  /** The sketch as plain data, to send to another thread. */
  toPlain(): SketchPlain {
    return { counts: this.counts, offset: this.offset, zeroCount: this.zeroCount, count: this.count, sum: this.sum, min: this.min, max: this.max };
  }

  static fromPlain(p: SketchPlain): QuantileSketch {
    const s = new QuantileSketch();
    s.counts = p.counts;
    s.offset = p.offset;
    s.zeroCount = p.zeroCount;
    s.count = p.count;
    s.sum = p.sum;
    s.min = p.min;
    s.max = p.max;
    return s;
  }

  /** Buckets in use, for memory accounting. */
  get buckets(): number {
    return this.counts.length;
  }
}

export interface SketchPlain {
  counts: Float64Array;
  offset: number;
  zeroCount: number;
  count: number;
  sum: number;
  min: number;
  max: number;
}
