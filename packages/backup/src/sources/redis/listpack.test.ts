import { describe, expect, it } from 'vitest';
import { checkListpack } from './listpack.js';
import { listpack } from './rdb-test-helpers.js';

describe('checkListpack', () => {
  it('counts the elements and refuses a wrong total size, a wrong element count and an empty listpack', () => {
    const good = listpack(['a', 'b']);
    expect(checkListpack(good)).toBe(2);
    const wrongTotal = Buffer.from(good);
    wrongTotal.writeUInt32LE(good.length + 1, 0);
    expect(() => checkListpack(wrongTotal)).toThrow(/header says/);
    const wrongCount = Buffer.from(good);
    wrongCount.writeUInt16LE(3, 4);
    expect(() => checkListpack(wrongCount)).toThrow(/header says 3 elements, found 2/);
    expect(() => checkListpack(listpack([]))).toThrow(/empty/);
  });
});
