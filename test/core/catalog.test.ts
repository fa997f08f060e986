import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CATALOG, pipelineCounterSeries } from '../../src/core/metrics/catalog.js';
import { createCatalogRegistry, initPipelineSeries, snapshotSamples } from '../../src/core/metrics/registry.js';

test('catalog entries are well-formed: names, counter suffixes, increasing buckets, the common labels', () => {
  const names = new Set<string>();
  for (const m of CATALOG) {
    assert.match(m.name, /^[a-z_][a-z0-9_]*$/, m.name);
    assert.ok(!names.has(m.name), `${m.name} defined twice`);
    names.add(m.name);
    assert.equal(m.type === 'counter', m.name.endsWith('_total'), `${m.name}: counters, and only counters, end in _total`);
    if (m.source === 'run-pipeline') assert.deepEqual(m.labels.slice(0, 2), ['pipeline_name', 'environment'], m.name);
    else assert.ok(m.name.startsWith('pipeobs_'), `${m.name}: pipeobs' own metrics start with pipeobs_`);
    if (m.type === 'histogram') {
      assert.ok(m.buckets && m.buckets.length >= 10, m.name);
      for (let i = 1; i < m.buckets!.length; i++) assert.ok(m.buckets![i] > m.buckets![i - 1], `${m.name} buckets increase`);
    } else assert.equal(m.buckets, undefined, m.name);
    assert.ok(m.help.length > 10 && m.unit.length > 0, m.name);
  }
});

test('every counter series a run can produce exists at 0 before the first run', async () => {
  const reg = createCatalogRegistry();
  initPipelineSeries(reg, { pipeline_name: 'p', environment: 'e' });
  const samples = await snapshotSamples(reg.registry);
  for (const [name, series] of Object.entries(pipelineCounterSeries())) {
    const def = CATALOG.find((m) => m.name === name)!;
    for (const labels of series) {
      assert.deepEqual(Object.keys(labels).sort(), def.labels.slice(2).sort(), `${name} series use exactly the catalog's labels`);
      const s = samples.find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
      assert.ok(s, `${name}${JSON.stringify(labels)} missing`);
      assert.equal(s.value, 0);
    }
  }
  assert.equal(samples.filter((s) => s.name === 'pipeline_stage_duration_seconds_count').length, 4);
});

test('the README documents every metric of the catalog', () => {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  for (const m of CATALOG) assert.match(readme, new RegExp(`\\| \`${m.name}\` \\| ${m.type} \\|`), `${m.name} is missing from the README's catalog table`);
});
