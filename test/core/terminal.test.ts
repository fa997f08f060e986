import { test } from 'node:test';
import assert from 'node:assert/strict';
import { colorFor, loadColors, startProgress } from '../../src/core/output/terminal.js';

const out = (props: { isTTY?: boolean; columns?: number }) => ({ ...props, text: '', write(s: string) { this.text += s; return true; } });

test('a spinner only on a terminal with a width, outside CI', () => {
  const opts = { noColor: false, ci: false };
  assert.equal(startProgress(out({ isTTY: false, columns: 80 }), opts, 'x').active, false);
  assert.equal(startProgress(out({ isTTY: true, columns: 80 }), { ...opts, ci: true }, 'x').active, false);
  // script(1) and some CI runners report a terminal of width 0, on which ora would redraw without end
  assert.equal(startProgress(out({ isTTY: true, columns: 0 }), opts, 'x').active, false);
  const p = startProgress(out({ isTTY: true, columns: 80 }), opts, 'x');
  assert.equal(p.active, true);
  p.stop();
});

test('colour only on a terminal, never with NO_COLOR; chalk only once loaded', async () => {
  // Before cli.ts loads chalk (it does when a stream is a terminal), text stays plain, with every style.
  const plain = colorFor(out({ isTTY: true }), { noColor: false, ci: false });
  assert.equal(plain.level, 0);
  assert.equal(plain.bold.cyan('a', 1), 'a 1');
  assert.equal(await Promise.resolve(plain).then((c) => c.red('x')), 'x', 'not a thenable');
  await loadColors();
  assert.equal(colorFor(out({ isTTY: true }), { noColor: false, ci: false }).red('x'), '\u001b[31mx\u001b[39m');
  assert.equal(colorFor(out({ isTTY: true }), { noColor: false, ci: false }).level, 1);
  assert.equal(colorFor(out({ isTTY: true }), { noColor: true, ci: false }).level, 0);
  assert.equal(colorFor(out({ isTTY: false }), { noColor: false, ci: false }).level, 0);
});
