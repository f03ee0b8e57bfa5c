import { describe, expect, it } from 'vitest';
import { ziplist } from './rdb-test-helpers.js';
import { checkZiplist } from './ziplist.js';

describe('checkZiplist', () => {
  it('counts the entries and refuses a wrong tail offset and a broken prevlen chain', () => {
    const zip = ziplist(['a', 'bb']);
    expect(checkZiplist(zip)).toBe(2);
    const wrongTail = Buffer.from(zip);
    wrongTail.writeUInt32LE(10, 4);
    expect(() => checkZiplist(wrongTail)).toThrow(/tail offset/);
    const wrongPrevious = Buffer.from(zip);
    wrongPrevious[13] = 7; // the second entry's prevlen
    expect(() => checkZiplist(wrongPrevious)).toThrow(/previous entry has 7 bytes, it has 3/);
  });
});
