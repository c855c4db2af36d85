import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { splitCsvLine } from '../../src/datasets/csv.js';

describe('splitCsvLine', () => {
  it('splits plain fields, keeping empty ones', () => {
    assert.deepEqual(splitCsvLine('1,Toy Story (1995),Adventure|Animation'), { fields: ['1', 'Toy Story (1995)', 'Adventure|Animation'] });
    assert.deepEqual(splitCsvLine('a,,c,'), { fields: ['a', '', 'c', ''] });
  });

  it('reads quoted fields with commas and doubled quotes', () => {
    assert.deepEqual(splitCsvLine('318,"Shawshank Redemption, The (1994)",Crime|Drama'), {
      fields: ['318', 'Shawshank Redemption, The (1994)', 'Crime|Drama'],
    });
    assert.deepEqual(splitCsvLine('7,"The ""Great"" One, Part 2 (2001)",Comedy'), {
      fields: ['7', 'The "Great" One, Part 2 (2001)', 'Comedy'],
    });
    assert.deepEqual(splitCsvLine('"",x'), { fields: ['', 'x'] });
    assert.deepEqual(splitCsvLine('x,"a,b"'), { fields: ['x', 'a,b'] });
  });

  it('names what is wrong with a broken line', () => {
    assert.deepEqual(splitCsvLine('1,"unterminated, title'), { error: 'unterminated quoted field starting at column 3' });
    assert.deepEqual(splitCsvLine('1,"closed"junk,x'), { error: 'unexpected text after the closing quote at column 11' });
    assert.deepEqual(splitCsvLine('1,ab"c,x'), { error: 'stray quote in an unquoted field at column 3' });
  });
});
