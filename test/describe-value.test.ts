import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeValue } from '../src/common/describe-value.js';

describe('describeValue', () => {
  it('shows primitives so that their kind is plain', () => {
    assert.equal(describeValue('thread'), '"thread"');
    assert.equal(describeValue(1.5), '1.5');
    assert.equal(describeValue(-0), '-0');
    assert.equal(describeValue(5n), '5n');
    assert.equal(describeValue(true), 'true');
    assert.equal(describeValue(null), 'null');
    assert.equal(describeValue(undefined), 'undefined');
    assert.equal(describeValue(Symbol('s')), 'Symbol(s)');
    assert.equal(
      describeValue(() => 1),
      'a function',
    );
  });

  it('cuts long strings and shows their length', () => {
    const shown = describeValue('x'.repeat(1_000));
    assert.equal(shown, `"${'x'.repeat(64)}"… (1000 characters)`);
  });

  it('shows arrays and plain objects, bounded in depth and entries', () => {
    assert.equal(describeValue([1, 1]), '[1, 1]');
    assert.equal(describeValue([]), '[]');
    assert.equal(describeValue({ a: 'b', c: [1] }), '{"a": "b", "c": [1]}');
    assert.equal(describeValue([[[1, 2]]]), '[[[… (2 items)]]]');
    const many = Array.from({ length: 20 }, (_, index) => index);
    assert.equal(describeValue(many), '[0, 1, 2, 3, 4, 5, 6, 7, … (20 items)]');
  });

  it('never throws: not on cycles, class instances or hostile getters', () => {
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    assert.equal(describeValue(cycle), '{"self": {"self": {… (1 key)}}}');
    assert.equal(describeValue(new Date(0)), 'an instance of Date');
    const hostile = {
      get boom(): never {
        throw new Error('no');
      },
    };
    assert.equal(describeValue(hostile), 'an object');
  });
});
