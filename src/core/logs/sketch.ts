/**
 * Quantiles in bounded memory with bounded relative error (the DDSketch scheme): a positive
 * value v goes to bucket ceil(log_gamma(v)) with gamma = (1 + a) / (1 - a), and a quantile is
 * answered by the bucket's midpoint 2·gamma^i / (gamma + 1), within a·v of every value in the
 * bucket. With a = 1% and values from 1 µs to 11 days in milliseconds, a sketch has at most
 * ~1,400 buckets however many values it has seen. Up to EXACT_LIMIT values are kept as they
 * are, so small groups (most hours of most groups over a long window) get exact quantiles and
 * cost a few bytes. Zero and negative values are counted apart.
 */
export const RELATIVE_ACCURACY = 0.01;
const GAMMA = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY);
const LOG_GAMMA = Math.log(GAMMA);
/** Values at or below this count as zero (1 ns in milliseconds, 1e-9 of a confidence). */
const MIN_POSITIVE = 1e-9;
/** Values kept exactly before the sketch switches to buckets. */
export const EXACT_LIMIT = 64;

export class QuantileSketch {
  /** The values themselves while there are at most EXACT_LIMIT of them; null once in buckets. */
  private exact: Float64Array | null = new Float64Array(4);
  /** Whether the exact values are in order (quantile sorts them once). */
  private sorted = true;
  /** counts[k] holds bucket offset + k. */
  private counts: Uint32Array = new Uint32Array(0);
  private offset = 0;
  private zeroCount = 0;
  count = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;

  add(value: number): void {
    const n = this.count;
    this.count = n + 1;
    this.sum += value;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
    const exact = this.exact;
    if (exact !== null) {
      this.sorted = false;
      if (n < exact.length) {
        exact[n] = value;
        return;
      }
      if (n < EXACT_LIMIT) {
        const bigger = new Float64Array(Math.min(EXACT_LIMIT, exact.length * 2));
        bigger.set(exact);
        bigger[n] = value;
        this.exact = bigger;
        return;
      }
      this.toBuckets(n);
    }
    this.bucket(value, 1);
  }

  /** Moves the first n exact values into buckets. */
  private toBuckets(n: number): void {
    const exact = this.exact!;
    this.exact = null;
    for (let i = 0; i < n; i++) this.bucket(exact[i], 1);
  }

  private bucket(value: number, weight: number): void {
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
      this.counts = new Uint32Array(64);
      this.offset = index - 32;
      return 32;
    }
    const lo = Math.min(this.offset, index);
    const hi = Math.max(this.offset + n - 1, index);
    // Grow with slack on the side that overflowed, so a drifting series does not copy every time.
    const size = Math.max(hi - lo + 1, Math.min(n * 2, hi - lo + 1 + 64));
    const newOffset = index < this.offset ? hi - size + 1 : lo;
    const next = new Uint32Array(size);
    next.set(this.counts, this.offset - newOffset);
    this.counts = next;
    this.offset = newOffset;
    return index - newOffset;
  }

  merge(other: QuantileSketch): void {
    if (other.count === 0) return;
    const n = this.count;
    this.count += other.count;
    this.sum += other.sum;
    if (other.min < this.min) this.min = other.min;
    if (other.max > this.max) this.max = other.max;
    if (this.exact !== null && other.exact !== null && this.count <= EXACT_LIMIT) {
      const merged = new Float64Array(Math.max(4, this.count));
      merged.set(this.exact.subarray(0, n));
      merged.set(other.exact.subarray(0, other.count), n);
      this.exact = merged;
      this.sorted = false;
      return;
    }
    if (this.exact !== null) this.toBuckets(n);
    if (other.exact !== null) {
      for (let i = 0; i < other.count; i++) this.bucket(other.exact[i], 1);
      return;
    }
    this.zeroCount += other.zeroCount;
    // The same gamma on both sides: bucket i here is bucket i there.
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
   * The q-quantile (0 ≤ q ≤ 1) at rank q·(count − 1) in sorted order. While the values are kept
   * (up to EXACT_LIMIT) it is interpolated between the two values around that rank exactly as
   * numpy.percentile's default ("linear") does, so p99 of seven values is not simply the sixth;
   * past that it is the sketch's value at that rank, within 1% of it. min and max are exact.
   * null when empty.
   */
  quantile(q: number): number | null {
    if (this.count === 0) return null;
    if (q <= 0) return this.min;
    if (q >= 1) return this.max;
    const rank = q * (this.count - 1);
    if (this.exact !== null) {
      if (!this.sorted) {
        this.exact.subarray(0, this.count).sort();
        this.sorted = true;
      }
      // numpy's default (method "linear"): between the two values around the rank, computed as
      // numpy's _lerp does (from the upper value when past halfway), so figures match numpy's to the bit.
      const x = this.exact;
      const lo = Math.floor(rank);
      const t = rank - lo;
      if (t === 0) return x[lo];
      const a = x[lo];
      const b = x[lo + 1];
      const diff = b - a;
      return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
    }
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
    return {
      exact: this.exact ? this.exact.slice(0, this.count) : null,
      counts: this.counts,
      offset: this.offset,
      zeroCount: this.zeroCount,
      count: this.count,
      sum: this.sum,
      min: this.min,
      max: this.max,
    };
  }

  static fromPlain(p: SketchPlain): QuantileSketch {
    const s = new QuantileSketch();
    s.exact = p.exact && p.exact.length > 0 ? p.exact : p.exact ? new Float64Array(4) : null;
    s.sorted = false;
    s.counts = p.counts;
    s.offset = p.offset;
    s.zeroCount = p.zeroCount;
    s.count = p.count;
    s.sum = p.sum;
    s.min = p.min;
    s.max = p.max;
    return s;
  }

  /** Bytes held by the values or buckets, for memory accounting. */
  get bytes(): number {
    return this.exact ? this.exact.byteLength : this.counts.byteLength;
  }
}

export interface SketchPlain {
  exact: Float64Array | null;
  counts: Uint32Array;
  offset: number;
  zeroCount: number;
  count: number;
  sum: number;
  min: number;
  max: number;
}
