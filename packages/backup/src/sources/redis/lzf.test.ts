import { describe, expect, it } from 'vitest';
import { lzfDecompress } from './lzf.js';

describe('lzfDecompress', () => {
  it('expands literal runs and back references, and refuses references before the start, overruns and a wrong length', () => {
    expect(lzfDecompress(Buffer.from([0x00, 0x61, 0xe0, 0x01, 0x00]), 11).toString()).toBe('a'.repeat(11));
    expect(() => lzfDecompress(Buffer.from([0x00, 0x61, 0xe0, 0x01, 0x05]), 11)).toThrow(/points before the start/);
    expect(() => lzfDecompress(Buffer.from([0x03, 0x61]), 4)).toThrow(/overruns the compressed data/);
    expect(() => lzfDecompress(Buffer.from([0x00, 0x61]), 2)).toThrow(/decompresses to 1 bytes, the header says 2/);
  });
});
