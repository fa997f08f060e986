import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeSettings, loadConfig } from '../../src/core/config/config.js';
import { ConfigError } from '../../src/core/errors.js';

test('defaults, then environment, then flags', () => {
  const d = loadConfig({ HOME: '/home/u' });
  assert.equal(d.vmUrl, 'http://127.0.0.1:8428');
  assert.equal(d.vmWriteUrl, undefined);
  assert.equal(d.spoolDir, '/home/u/.local/state/pipeobs/spool');
  assert.equal(d.metricsPort, 8000);
  assert.equal(d.debug, false);
  assert.equal(d.noColor, false);
  const e = loadConfig({ HOME: '/h', XDG_STATE_HOME: '/state', PIPEOBS_VM_URL: 'http://vm:8428/', PIPEOBS_DEBUG: 'yes', NO_COLOR: '1', PIPEOBS_VM_TIMEOUT: '2.5' });
  assert.equal(e.vmUrl, 'http://vm:8428');
  assert.equal(e.spoolDir, '/state/pipeobs/spool');
  assert.equal(e.debug, true);
  assert.equal(e.noColor, true);
  assert.equal(e.vmTimeoutSeconds, 2.5);
  const f = loadConfig({ PIPEOBS_VM_URL: 'http://env:1' }, { vmUrl: 'http://flag:2', metricsPort: '0' });
  assert.equal(f.vmUrl, 'http://flag:2');
  assert.equal(f.metricsPort, 0);
});

test('a bad value names where it came from', () => {
  const f = (env: Record<string, string>, overrides: Record<string, string>, message: RegExp) =>
    assert.throws(() => loadConfig(env, overrides), (err: unknown) => err instanceof ConfigError && message.test(err.message));
  f({ PIPEOBS_VM_URL: 'ftp://x' }, {}, /^PIPEOBS_VM_URL=ftp:\/\/x must be an http:\/\/ or https:\/\/ URL$/);
  f({}, { vmUrl: 'nope' }, /^--vm-url=nope is not a URL$/);
  f({ PIPEOBS_VM_RETRIES: '2.5' }, {}, /^PIPEOBS_VM_RETRIES=2.5 is not valid: expected a whole number of retries$/);
  f({ PIPEOBS_DEBUG: 'maybe' }, {}, /^PIPEOBS_DEBUG=maybe is not valid: expected true or false$/);
  f({ PIPEOBS_PIPELINE_NAME: '' }, {}, /^PIPEOBS_PIPELINE_NAME is empty: the pipeline_name label needs a value$/);
});

test('the README documents every setting in its configuration table', () => {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  for (const s of describeSettings()) {
    assert.match(readme, new RegExp(`\\| \`${s.env}\` \\|`), `${s.env} is missing from the README's configuration table`);
  }
});
