/**
 * Per component, per group and per hour: what the usable lines add up to. Memory is bounded by
 * the number of groups (capped per component, the excess going to an "other" group) times the
 * hours of the window, never by the number of lines.
 */
import { Outcome, type LineFacts, type SkipReason } from './formats.js';
import { QuantileSketch, type SketchPlain } from './sketch.js';
import { LOG_CONFIDENCE_BUCKETS, LOG_LATENCY_BUCKETS } from '../metrics/catalog.js';

export const HOUR_MS = 3_600_000;

export type HourStatsPlain = Omit<{ [K in keyof HourStats as HourStats[K] extends (...a: never[]) => unknown ? never : K]: HourStats[K] }, 'latency' | 'confidence'> & {
  latency: SketchPlain;
  confidence: SketchPlain | null;
};

/** An aggregator as plain data, to send from a worker thread to the main one. */
export interface AggregatorPlain {
  groups: Array<{ key: string; component: string; labels: string[]; hours: Array<[number, HourStatsPlain]> }>;
  /** Distinct overflowed groups per component: their keys, or a count once there are too many. */
  overflow: Array<[string, string[] | number]>;
  linesUsed: number;
}
export const OTHER = 'other';

export class HourStats {
  lines = 0;
  records = 0;
  errors = 0;
  failedRecords = 0;
  success = 0;
  failed = 0;
  retry = 0;
  latency = new QuantileSketch();
  lagLast = NaN;
  lagLastTs = -Infinity;
  lagMax = -Infinity;
  lagSum = 0;
  lagCount = 0;
  mpsSum = 0;
  mpsCount = 0;
  mpsMax = -Infinity;
  confidence: QuantileSketch | null = null;
  lowConfidence = 0;
  firstTs = Infinity;
  lastTs = -Infinity;

  toPlain(): HourStatsPlain {
    return { ...this, latency: this.latency.toPlain(), confidence: this.confidence?.toPlain() ?? null };
  }

  static fromPlain(p: HourStatsPlain): HourStats {
    const h = new HourStats();
    const { latency, confidence, ...numbers } = p;
    Object.assign(h, numbers);
    h.latency = QuantileSketch.fromPlain(latency);
    h.confidence = confidence ? QuantileSketch.fromPlain(confidence) : null;
    return h;
  }

  merge(o: HourStats): void {
    this.lines += o.lines;
    this.records += o.records;
    this.errors += o.errors;
    this.failedRecords += o.failedRecords;
    this.success += o.success;
    this.failed += o.failed;
    this.retry += o.retry;
    this.latency.merge(o.latency);
    if (o.lagLastTs > this.lagLastTs) {
      this.lagLastTs = o.lagLastTs;
      this.lagLast = o.lagLast;
    }
    this.lagMax = Math.max(this.lagMax, o.lagMax);
    this.lagSum += o.lagSum;
    this.lagCount += o.lagCount;
    this.mpsSum += o.mpsSum;
    this.mpsCount += o.mpsCount;
    this.mpsMax = Math.max(this.mpsMax, o.mpsMax);
    if (o.confidence) (this.confidence ??= new QuantileSketch()).merge(o.confidence);
    this.lowConfidence += o.lowConfidence;
    this.firstTs = Math.min(this.firstTs, o.firstTs);
    this.lastTs = Math.max(this.lastTs, o.lastTs);
  }
}


/**
 * A group's totals since the exporter started, for counters, gauges and histograms: never
 * pruned with the report's hours, so a group that logs rarely keeps its series.
 */
export class GroupTotals {
  lines = 0;
  records = 0;
  errors = 0;
  failedRecords = 0;
  success = 0;
  failed = 0;
  retry = 0;
  /** Non-cumulative counts per LOG_LATENCY_BUCKETS bound, plus one for +Inf. */
  readonly latencyBuckets = new Float64Array(LOG_LATENCY_BUCKETS.length + 1);
  latencySumSeconds = 0;
  latencyCount = 0;
  lagLast = NaN;
  lagLastTs = -Infinity;
  mpsLast = NaN;
  readonly confidenceBuckets = new Float64Array(LOG_CONFIDENCE_BUCKETS.length + 1);
  confidenceSum = 0;
  confidenceCount = 0;
  lowConfidence = 0;
  lastTs = -Infinity;
}

function bucketIndex(bounds: readonly number[], v: number): number {
  let i = 0;
  while (i < bounds.length && v > bounds[i]) i++;
  return i;
}

export class GroupStats {
  readonly hours = new Map<number, HourStats>();
  private lastHour = NaN;
  private last: HourStats | null = null;
  /** Kept only for the exporter (server mode). */
  totals: GroupTotals | null = null;
  constructor(
    readonly component: string,
    readonly labels: readonly string[],
  ) {}

  hour(h: number): HourStats {
    if (h === this.lastHour) return this.last!;
    let s = this.hours.get(h);
    if (!s) {
      s = new HourStats();
      this.hours.set(h, s);
    }
    this.lastHour = h;
    this.last = s;
    return s;
  }

  /** Drops hours before `fromHour` (server mode keeps only the window). */
  prune(fromHour: number): void {
    for (const h of this.hours.keys()) if (h < fromHour) this.hours.delete(h);
    this.lastHour = NaN;
    this.last = null;
  }
}

export interface SkipExample {
  file: string;
  line: number;
  detail: string;
}

/** Skipped lines by reason, with the first few positions of each. */
export class SkipLog {
  readonly counts = new Map<SkipReason, number>();
  readonly examples = new Map<SkipReason, SkipExample[]>();
  constructor(readonly keepExamples = 5) {}

  add(reason: SkipReason, file: string, line: number, detail: string): void {
    this.counts.set(reason, (this.counts.get(reason) ?? 0) + 1);
    let ex = this.examples.get(reason);
    if (!ex) this.examples.set(reason, (ex = []));
    if (ex.length < this.keepExamples) ex.push({ file, line, detail });
  }

  /** Adds another log's counts; examples stay the first few in (file, line) order. */
  merge(counts: Array<[SkipReason, number]>, examples: Array<[SkipReason, SkipExample[]]>): void {
    for (const [r, c] of counts) this.counts.set(r, (this.counts.get(r) ?? 0) + c);
    for (const [r, ex] of examples) {
      const all = [...(this.examples.get(r) ?? []), ...ex].sort((a, b) => (a.file === b.file ? a.line - b.line : a.file < b.file ? -1 : 1));
      this.examples.set(r, all.slice(0, this.keepExamples));
    }
  }

  total(except?: SkipReason): number {
    let n = 0;
    for (const [r, c] of this.counts) if (r !== except) n += c;
    return n;
  }
}

export interface AggregatorOptions {
  /** Groups kept per component before new ones go to "other". */
  maxGroups: number;
  lowConfidence: number;
  /** Keep each group's totals since the start, for exported metrics. */
  totals?: boolean;
}

export class Aggregator {
  readonly groups = new Map<string, GroupStats>();
  private readonly groupCount = new Map<string, number>();
  /** Per component, the distinct groups that went to "other". */
  readonly overflow = new Map<string, Set<string> | number>();
  linesUsed = 0;

  constructor(readonly options: AggregatorOptions) {}

  /** The group a line belongs to: its own, or its component's "other" group once the cap is reached. */
  groupFor(facts: LineFacts): GroupStats {
    return this.groups.get(facts.component + '\u0000' + facts.groupKey) ?? this.newGroup(facts.component + '\u0000' + facts.groupKey, facts);
  }

  /** One usable line into its group (found from its labels unless given) and hour. */
  add(facts: LineFacts, group: GroupStats = this.groupFor(facts)): void {
    const { tsMs, error, records, durationMs, lag, messagesPerSecond: mps, confidence, outcome, failedRecords } = facts;
    const s = group.hour(Math.floor(tsMs / HOUR_MS));
    this.linesUsed++;
    s.lines++;
    if (tsMs < s.firstTs) s.firstTs = tsMs;
    if (tsMs > s.lastTs) s.lastTs = tsMs;
    s.records += records;
    if (error) s.errors++;
    s.failedRecords += failedRecords;
    if (outcome !== Outcome.none) {
      if (outcome === Outcome.success) s.success++;
      else if (outcome === Outcome.failed) s.failed++;
      else s.retry++;
    }
    if (durationMs === durationMs && durationMs >= 0) s.latency.add(durationMs);
    if (lag === lag) {
      if (tsMs >= s.lagLastTs) {
        s.lagLastTs = tsMs;
        s.lagLast = lag;
      }
      if (lag > s.lagMax) s.lagMax = lag;
      s.lagSum += lag;
      s.lagCount++;
    }
    if (mps === mps) {
      s.mpsSum += mps;
      s.mpsCount++;
      if (mps > s.mpsMax) s.mpsMax = mps;
    }
    if (confidence === confidence) {
      (s.confidence ??= new QuantileSketch()).add(confidence);
      if (confidence < this.options.lowConfidence) s.lowConfidence++;
    }
    const t = group.totals;
    if (t !== null) {
      t.lines++;
      t.records += records;
      if (error) t.errors++;
      t.failedRecords += failedRecords;
      if (outcome === Outcome.success) t.success++;
      else if (outcome === Outcome.failed) t.failed++;
      else if (outcome === Outcome.retry) t.retry++;
      if (durationMs === durationMs && durationMs >= 0) {
        const sec = durationMs / 1000;
        t.latencyBuckets[bucketIndex(LOG_LATENCY_BUCKETS, sec)]++;
        t.latencySumSeconds += sec;
        t.latencyCount++;
      }
      if (lag === lag && tsMs >= t.lagLastTs) {
        t.lagLastTs = tsMs;
        t.lagLast = lag;
      }
      if (mps === mps) t.mpsLast = mps;
      if (confidence === confidence) {
        t.confidenceBuckets[bucketIndex(LOG_CONFIDENCE_BUCKETS, confidence)]++;
        t.confidenceSum += confidence;
        t.confidenceCount++;
        if (confidence < this.options.lowConfidence) t.lowConfidence++;
      }
      if (tsMs > t.lastTs) t.lastTs = tsMs;
    }
  }

  private newGroup(key: string, facts: LineFacts): GroupStats {
    const n = this.groupCount.get(facts.component) ?? 0;
    if (n >= this.options.maxGroups) {
      // Over the cap: this line counts in the component's "other" group, and the group is remembered as overflowed.
      const otherKey = facts.component + '\u0000' + OTHER;
      let other = this.groups.get(otherKey);
      if (!other) {
        other = new GroupStats(facts.component, facts.labels.map(() => OTHER));
        if (this.options.totals) other.totals = new GroupTotals();
        this.groups.set(otherKey, other);
      }
      const seen = this.overflow.get(facts.component);
      if (seen === undefined) this.overflow.set(facts.component, new Set([key]));
      else if (typeof seen !== 'number') {
        seen.add(key);
        // Counting distinct overflowed groups must not itself grow without bound.
        if (seen.size > 10_000) this.overflow.set(facts.component, seen.size);
      } else this.overflow.set(facts.component, seen + 1);
      return other;
    }
    this.groupCount.set(facts.component, n + 1);
    const g = new GroupStats(facts.component, [...facts.labels]);
    if (this.options.totals) g.totals = new GroupTotals();
    this.groups.set(key, g);
    return g;
  }

  toPlain(): AggregatorPlain {
    return {
      groups: [...this.groups].map(([key, g]) => ({ key, component: g.component, labels: [...g.labels], hours: [...g.hours].map(([h, st]) => [h, st.toPlain()] as [number, HourStatsPlain]) })),
      overflow: [...this.overflow].map(([c, v]) => [c, typeof v === 'number' ? v : [...v]]),
      linesUsed: this.linesUsed,
    };
  }

  /**
   * Adds another aggregator's groups (from a worker): groups already known merge, new ones are
   * kept while the component is under the cap and go to its "other" group after it.
   */
  mergePlain(p: AggregatorPlain): void {
    this.linesUsed += p.linesUsed;
    for (const g of p.groups) {
      let target = this.groups.get(g.key);
      if (!target) {
        const n = this.groupCount.get(g.component) ?? 0;
        const isOther = g.key === g.component + '\u0000' + OTHER;
        if (n < this.options.maxGroups || isOther) {
          target = new GroupStats(g.component, g.labels);
          this.groups.set(g.key, target);
          if (!isOther) this.groupCount.set(g.component, n + 1);
        } else {
          const otherKey = g.component + '\u0000' + OTHER;
          target = this.groups.get(otherKey);
          if (!target) this.groups.set(otherKey, (target = new GroupStats(g.component, g.labels.map(() => OTHER))));
          this.addOverflow(g.component, [g.key]);
        }
      }
      for (const [h, st] of g.hours) {
        const known = target.hours.get(h);
        if (known) known.merge(HourStats.fromPlain(st));
        else target.hours.set(h, HourStats.fromPlain(st));
      }
    }
    for (const [component, v] of p.overflow) this.addOverflow(component, v);
  }

  private addOverflow(component: string, v: string[] | number): void {
    const seen = this.overflow.get(component);
    if (typeof v === 'number' || typeof seen === 'number') {
      const before = seen === undefined ? 0 : typeof seen === 'number' ? seen : seen.size;
      this.overflow.set(component, before + (typeof v === 'number' ? v : v.length));
      return;
    }
    const set = seen ?? new Set<string>();
    for (const k of v) set.add(k);
    this.overflow.set(component, set.size > 10_000 ? set.size : set);
  }

  overflowCount(component: string): number {
    const v = this.overflow.get(component);
    return v === undefined ? 0 : typeof v === 'number' ? v : v.size;
  }

  prune(fromHour: number): void {
    for (const g of this.groups.values()) g.prune(fromHour);
  }
}
