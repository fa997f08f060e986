import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveEndpoints } from '../../src/core/victoria/endpoints.js';

test('single-node URLs put every API at the root', () => {
  const e = resolveEndpoints('http://vm:8428', 'http://vm:8428/');
  assert.equal(e.query, 'http://vm:8428/api/v1/query');
  assert.equal(e.queryRange, 'http://vm:8428/api/v1/query_range');
  assert.equal(e.export, 'http://vm:8428/api/v1/export');
  assert.equal(e.labelValues('__name__'), 'http://vm:8428/api/v1/label/__name__/values');
  assert.equal(e.importPrometheus, 'http://vm:8428/api/v1/import/prometheus');
  assert.equal(e.influxWrite, 'http://vm:8428/write');
  assert.equal(e.readHealth, 'http://vm:8428/health');
  assert.equal(e.forceFlush, 'http://vm:8428/internal/force_flush');
  assert.equal(e.cluster, false);
});

test('cluster URLs with tenants use vminsert and vmselect paths', () => {
  const e = resolveEndpoints('http://vmselect:8481/select/0', 'http://vminsert:8480/insert/42:7');
  assert.equal(e.query, 'http://vmselect:8481/select/0/prometheus/api/v1/query');
  assert.equal(e.series, 'http://vmselect:8481/select/0/prometheus/api/v1/series');
  assert.equal(e.export, 'http://vmselect:8481/select/0/prometheus/api/v1/export');
  assert.equal(e.importPrometheus, 'http://vminsert:8480/insert/42:7/prometheus/api/v1/import/prometheus');
  assert.equal(e.influxWrite, 'http://vminsert:8480/insert/42:7/influx/write');
  assert.equal(e.readHealth, 'http://vmselect:8481/health');
  assert.equal(e.writeHealth, 'http://vminsert:8480/health');
  assert.equal(e.forceFlush, undefined);
  assert.equal(e.cluster, true);
});

test('a single-node URL behind a path prefix (a proxy) keeps the prefix', () => {
  const e = resolveEndpoints('https://proxy.example/vm', 'https://proxy.example/vm');
  assert.equal(e.query, 'https://proxy.example/vm/api/v1/query');
  assert.equal(e.influxWrite, 'https://proxy.example/vm/write');
});

test('credentials in a base URL reach every endpoint, /health and /metrics included (sent as Basic auth)', () => {
  const e = resolveEndpoints('http://reader:r%40pw@vmselect:8481/select/0', 'http://writer:w@vminsert:8480/insert/0');
  assert.equal(e.readHealth, 'http://reader:r%40pw@vmselect:8481/health');
  assert.equal(e.readMetrics, 'http://reader:r%40pw@vmselect:8481/metrics');
  assert.equal(e.writeHealth, 'http://writer:w@vminsert:8480/health');
  assert.equal(e.query, 'http://reader:r%40pw@vmselect:8481/select/0/prometheus/api/v1/query');
  assert.equal(resolveEndpoints('http://u@vm:8428', 'http://u@vm:8428').forceFlush, 'http://u@vm:8428/internal/force_flush');
});
