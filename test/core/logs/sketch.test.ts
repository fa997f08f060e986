import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { QuantileSketch, RELATIVE_ACCURACY } from '../../../src/core/logs/sketch.js';
import { rng } from '../../../src/core/logs/generate.js';

/** The exact value of rank ⌊q·(n−1)⌋ in sorted order, what the bucketed sketch estimates. */
function exact(sorted: number[], q: number): number {
  return sorted[Math.floor(q * (sorted.length - 1))];
}

const DISTRIBUTIONS: Record<string, (r: () => number) => number> = {
  exponential: (r) => -Math.log(1 - r()) * 40,
  lognormal: (r) => Math.exp(2 + 1.5 * Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r())),
  uniform: (r) => 0.001 + r() * 1000,
  'heavy tail': (r) => 1 / Math.pow(1 - r(), 1.5),
  'with zeros': (r) => (r() < 0.2 ? 0 : r() * 100),
};

for (const [name, draw] of Object.entries(DISTRIBUTIONS)) {
  test(`sketch quantiles are within 1% of the exact ones: ${name}`, () => {
    const r = rng(42);
    const values = Array.from({ length: 50_000 }, () => draw(r));
    const sketch = new QuantileSketch();
    for (const v of values) sketch.add(v);
    const sorted = [...values].sort((a, b) => a - b);
    for (const q of [0.01, 0.05, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999]) {
      const want = exact(sorted, q);
      const got = sketch.quantile(q)!;
      assert.ok(Math.abs(got - want) <= RELATIVE_ACCURACY * Math.abs(want) + 1e-12, `${name} q=${q}: ${got} vs exact ${want}`);
    }
    assert.equal(sketch.count, values.length);
    assert.equal(sketch.quantile(0), sorted[0]);
    assert.equal(sketch.quantile(1), sorted[sorted.length - 1]);
    assert.ok(Math.abs(sketch.mean()! - values.reduce((a, b) => a + b, 0) / values.length) < 1e-9 * sketch.mean()! + 1e-12);
  });
}

test('merged sketches answer as one sketch over all values, and memory stays bounded', () => {
  const r = rng(7);
  const all = new QuantileSketch();
  const parts = [new QuantileSketch(), new QuantileSketch(), new QuantileSketch()];
  for (let i = 0; i < 30_000; i++) {
    const v = -Math.log(1 - r()) * (i % 3 === 0 ? 5 : 500);
    all.add(v);
    parts[i % 3].add(v);
  }
  const merged = new QuantileSketch();
  for (const p of parts) merged.merge(p);
  for (const q of [0.05, 0.5, 0.95, 0.99]) assert.equal(merged.quantile(q), all.quantile(q));
  // Values from 1 µs to 10⁷ ms fit in well under 2,000 buckets of 4 bytes.
  const wide = new QuantileSketch();
  for (let e = -3; e <= 7; e += 0.001) wide.add(10 ** e);
  assert.ok(wide.bytes < 2_400 * 4, `${wide.bytes} bytes`);
  assert.equal(new QuantileSketch().quantile(0.5), null);
});

/** numpy.percentile with its default method, run by real numpy. */
function numpyPercentiles(values: number[], qs: number[]): number[] {
  const r = spawnSync('python3', ['-c', 'import json, sys, numpy; d = json.load(sys.stdin); print(json.dumps([float(x) for x in numpy.percentile(d["v"], [q * 100 for q in d["q"]])]))'], { input: JSON.stringify({ v: values, q: qs }), encoding: 'utf8' });
  assert.equal(r.status, 0, `python3 with numpy is needed for this test (apt-get install python3-numpy): ${r.stderr}`);
  return JSON.parse(r.stdout) as number[];
}

test('up to 64 values are kept exactly: percentiles as numpy interpolates them, a few bytes, and exact merges', () => {
  const values = [5, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3, 2, 3, 8, 4];
  const a = new QuantileSketch();
  const b = new QuantileSketch();
  values.forEach((v, i) => (i % 2 ? a : b).add(v));
  a.merge(b);
  const qs = [0.05, 0.25, 0.5, 0.9, 0.95, 0.99];
  assert.deepEqual(qs.map((q) => a.quantile(q)), numpyPercentiles(values, qs));
  assert.ok(a.bytes <= 20 * 8);
  // Past 64 values the sketch moves to buckets and keeps the 1% bound.
  for (let i = 0; i < 100; i++) a.add(100 + i);
  assert.ok(a.bytes > 0 && Math.abs(a.quantile(0.99)! - 198) <= 1.98 + 1e-9);
});

test('p99 of seven latencies is interpolated, not the sixth value; random small groups match numpy to the bit', () => {
  const seven = [12.5, 30, 18.25, 250, 41, 9.75, 77];
  const s = new QuantileSketch();
  for (const v of seven) s.add(v);
  // rank 0.99 × 6 = 5.94: 94% of the way from the sixth value (77) to the seventh (250).
  assert.equal(s.quantile(0.99), numpyPercentiles(seven, [0.99])[0]);
  assert.ok(Math.abs(s.quantile(0.99)! - 239.62) < 1e-9);
  const r = rng(3);
  const groups = Array.from({ length: 40 }, (_, i) => Array.from({ length: 1 + (i % 64) }, () => Math.round(-Math.log(1 - r()) * 100_000) / 1000));
  const qs = [0.05, 0.5, 0.95, 0.99];
  const want = groups.map((g) => numpyPercentiles(g, qs));
  groups.forEach((g, i) => {
    const sk = new QuantileSketch();
    for (const v of g) sk.add(v);
    assert.deepEqual(qs.map((q) => sk.quantile(q)), want[i], `group of ${g.length}`);
  });
});
