import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeTargetUrl, redactText, redactUrl } from '../../src/core/redact.js';

test('redactUrl hides user, password and secret query parameters, and nothing else', () => {
  const f = (input: string, expected: string) => {
    assert.equal(redactUrl(input), expected, input);
    assert.equal(redactUrl(input), expected, `${input} (second call)`);
  };
  // credentials in the authority
  f('http://user:pw@127.0.0.1:8428', 'http://***@127.0.0.1:8428');
  f('http://user@vm:8428/insert/0', 'http://***@vm:8428/insert/0');
  f('https://:pw@vm/', 'https://***@vm/');
  f('http://us%40er:p%3Aw@vm:8428', 'http://***@vm:8428');
  // secret query parameters, by name
  f('http://vm:8428/write?token=abc&db=x', 'http://vm:8428/write?token=***&db=x');
  f('https://llm/v1?api_key=sk-1&model=m', 'https://llm/v1?api_key=***&model=m');
  f('http://g:3000/?X-Amz-Signature=zz', 'http://g:3000/?X-Amz-Signature=***');
  // nothing to hide
  f('http://127.0.0.1:8428', 'http://127.0.0.1:8428');
  f('http://127.0.0.1:8428/', 'http://127.0.0.1:8428/');
  f('http://vm:8428/insert/0?extra_label=env=prod', 'http://vm:8428/insert/0?extra_label=env=prod');
  // not parseable: the same rules by pattern
  f('http://user:pw@ho st:8428', 'http://***@ho st:8428');
  f('not a url ?token=abc', 'not a url ?token=***');
});

test('redactText redacts every URL inside a message and keeps the sentence around it', () => {
  assert.equal(
    redactText('cannot reach VictoriaMetrics at http://a:b@vm:8428/write?precision=ns, then http://c:d@vm2. Start it'),
    'cannot reach VictoriaMetrics at http://***@vm:8428/write?precision=ns, then http://***@vm2. Start it',
  );
  assert.equal(redactText('PIPEOBS_VM_URL=ftp://u:p@x is not http'), 'PIPEOBS_VM_URL=ftp://***@x is not http');
  assert.equal(redactText('no urls here'), 'no urls here');
  assert.equal(redactText('"http://u:p@h:1/x"'), '"http://***@h:1/x"');
});

test('normalizeTargetUrl gives one key per target, without secrets', () => {
  const same = ['http://VM:8428', 'http://vm:8428/', 'http://user:pw@vm:8428', 'http://vm:8428//', 'http://other:pw2@vm:8428/?token=t'];
  for (const u of same) assert.equal(normalizeTargetUrl(u), 'http://vm:8428', u);
  assert.equal(normalizeTargetUrl('https://vm:443/insert/0/'), 'https://vm/insert/0');
  assert.equal(normalizeTargetUrl('http://vm:80/x?b=2&a=1'), 'http://vm/x?a=1&b=2');
  assert.notEqual(normalizeTargetUrl('http://vm:8428/insert/0'), normalizeTargetUrl('http://vm:8428/insert/1'));
});
