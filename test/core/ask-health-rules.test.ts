/**
 * ask's health answer reads the alert rule files as YAML: a user's edited copy of the shipped
 * rules (block-scalar expressions, other indentation, quoted values) gives the same rules, and
 * a file vmalert would refuse is refused with its line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseRules } from '../../src/core/ask/health.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

const EDITED = `# my copy of the rules
groups:
- name: "my-slas"
  interval: 15s
  rules:
  - record: job:failed_runs:increase1h
    expr: >-
      sum by (pipeline_name)
      (increase(pipeline_runs_total{status="failed"}[1h]))
- name: mine
  rules:
  - alert: TooManyFailures
    expr: |
      job:failed_runs:increase1h
        > 2
    for: 5m
    labels: {severity: "critical"}
    annotations:
      summary: 'Failures: {{ $value }}'
  - alert: NoExpr
  - alert: Quick
    expr: up == 0
`;

test('an edited rule file reads as vmalert reads it: block scalars, flow maps, quotes, default interval, recording rules inlined', () => {
  const rules = parseRules('mine.yml', EDITED);
  assert.deepEqual(
    rules.map((r) => [r.group, r.alert, r.forSeconds, r.intervalSeconds, r.severity, r.summary]),
    [
      ['mine', 'TooManyFailures', 300, 60, 'critical', 'Failures: {{ $value }}'],
      ['mine', 'Quick', 0, 60, '', ''],
    ],
  );
  assert.equal(rules[0].expr, '(sum by (pipeline_name) (increase(pipeline_runs_total{status="failed"}[1h])))\n  > 2');
});

test('the shipped rule files give every alert they declare', () => {
  for (const file of ['pipeline.rules.yml', 'logs.rules.yml']) {
    const text = readFileSync(path.join(root, 'deploy/alerts', file), 'utf8');
    const declared = [...text.matchAll(/^\s*-\s*alert:\s*(\S+)/gm)].map((m) => m[1]);
    assert.ok(declared.length > 0);
    assert.deepEqual(parseRules(file, text).map((r) => r.alert), declared, file);
  }
});

test('a rule file vmalert would refuse is an error naming the file and line', () => {
  assert.throws(() => parseRules('bad.yml', 'groups:\n  - name: x\n    rules:\n      - alert: A\n        expr: up\n       for: 5m\n'), /bad\.yml:\d+: not valid YAML/);
  assert.throws(() => parseRules('flat.yml', '- alert: A\n  expr: up\n'), /flat\.yml:1: expected `groups:`/);
  assert.throws(() => parseRules('rules.yml', 'groups:\n  - name: g\n    rules: up\n'), /rules\.yml:3: the rules of group g must be a list/);
  assert.throws(() => parseRules('for.yml', 'groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        for: soon\n'), /for\.yml:6 A for/);
});
