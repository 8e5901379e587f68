import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { describeNode, foregroundPackage, parsePageSource } from '../../src/ui/page-source.ts';
import { checkableFor, clickTarget, findNode } from '../../src/ui/screen.ts';

const source = readFileSync(new URL('../fixtures/ui/setup-privacy.xml', import.meta.url), 'utf8');
const nodes = parsePageSource(source);

void test('a UiAutomator2 page source reads as nodes with their parents, states and decoded texts', () => {
  assert.equal(nodes.length, 10);
  assert.equal(foregroundPackage(nodes), 'com.android.provision');
  const title = nodes.find((n) => n.resourceId === 'com.android.provision:id/title');
  assert.equal(title?.text, 'Privacy & terms');
  const box = nodes.find((n) => n.className === 'android.widget.CheckBox');
  assert.deepEqual(
    [box?.checkable, box?.checked, box?.clickable, box?.enabled],
    [true, false, true, true],
  );
  const row = nodes.find((n) => n.text === 'Send usage and diagnostic data');
  assert.equal(nodes[row?.parent ?? -1]?.clickable, true, 'a label knows its row');
  assert.equal(
    parsePageSource("<hierarchy><a text='x' checked='true'/></hierarchy>")[0]?.checked,
    true,
  );
  assert.deepEqual(parsePageSource('not xml at all'), []);
});

void test('buttons match their text exactly, ignoring case; consent labels match a part', () => {
  const enabled = (n: { enabled: boolean }) => n.enabled;
  // By id first: the id names a disabled button, so the enabled one found by text is taken.
  const next = findNode(
    nodes,
    { resourceIds: ['com.android.provision:id/next'], texts: ['Next'] },
    'exact',
    enabled,
  );
  assert.equal(next?.text, 'Next');
  assert.equal(next.resourceId, '', '"Next time" is not "Next"');
  assert.equal(
    findNode(nodes, { resourceIds: ['com.android.provision:id/next'], texts: [] }, 'exact')?.text,
    'NEXT',
  );
  const label = findNode(
    nodes,
    { resourceIds: [], texts: ['user experience program'] },
    'contains',
  );
  assert.equal(label?.resourceId, 'com.android.provision:id/experience_program');
  assert.equal(
    findNode(nodes, { resourceIds: ['x:id/none'], texts: ['Nothing'] }, 'exact'),
    undefined,
  );
});

void test('a label finds its switch, and a tap goes to the nearest clickable node', () => {
  const label = findNode(nodes, { resourceIds: [], texts: ['diagnostic data'] }, 'contains');
  assert.ok(label);
  const toggle = checkableFor(nodes, label);
  assert.equal(toggle?.resourceId, 'com.android.provision:id/diag_switch');
  assert.equal(toggle.checked, true);
  assert.equal(clickTarget(nodes, label)?.className, 'android.widget.LinearLayout');
  const title = nodes.find((n) => n.resourceId === 'com.android.provision:id/title');
  assert.ok(title);
  assert.equal(clickTarget(nodes, title), undefined, 'nothing clickable above a title');
  assert.equal(describeNode(toggle), 'com.android.provision:id/diag_switch');
  assert.equal(describeNode(label), '"Send usage and diagnostic data"');
});
