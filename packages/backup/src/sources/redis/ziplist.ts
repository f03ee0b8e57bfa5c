/** Validates a ziplist blob (header, prevlen chain, tail offset, terminator); returns its entry count. */
export function checkZiplist(blob: Buffer): number {
  if (blob.length < 11) throw new Error(`ziplist of ${blob.length} bytes is shorter than its header`);
  const total = blob.readUInt32LE(0);
  if (total !== blob.length) throw new Error(`ziplist header says ${total} bytes, the string has ${blob.length}`);
  const tail = blob.readUInt32LE(4);
  const declared = blob.readUInt16LE(8);
  let index = 10;
  let previousSize = 0;
  let lastStart = 10;
  let count = 0;
  for (;;) {
    if (index >= blob.length) throw new Error('ziplist has no terminator');
    if (blob[index] === 0xff) break;
    const start = index;
    let previousLength = blob[index] as number;
    if (previousLength === 0xfe) {
      if (index + 5 > blob.length) throw new Error('ziplist entry header is cut off');
      previousLength = blob.readUInt32LE(index + 1);
      index += 5;
    } else index += 1;
    if (previousLength !== previousSize)
      throw new Error(
        `ziplist entry at ${start} says the previous entry has ${previousLength} bytes, it has ${previousSize}`,
      );
    if (index >= blob.length) throw new Error('ziplist entry header is cut off');
    const { header, data } = entryEncoding(blob, index, start);
    index += header + data;
    if (index >= blob.length) throw new Error('ziplist entry overruns the ziplist');
    previousSize = index - start;
    lastStart = start;
    count++;
  }
  if (index !== blob.length - 1) throw new Error('ziplist has bytes after its terminator');
  if (tail !== lastStart)
    throw new Error(`ziplist tail offset ${tail} does not point at the last entry (${lastStart})`);
  if (declared !== 0xffff && declared !== count)
    throw new Error(`ziplist header says ${declared} entries, found ${count}`);
  return count;
}

/** Sizes of the encoding header at `index` and of the data after it, for the entry that starts at `start`. */
function entryEncoding(blob: Buffer, index: number, start: number): { header: number; data: number } {
  const encoding = blob[index] as number;
  switch (encoding >> 6) {
    case 0:
      return { header: 1, data: encoding & 0x3f };
    case 1:
      if (index + 2 > blob.length) throw new Error('ziplist entry header is cut off');
      return { header: 2, data: ((encoding & 0x3f) << 8) | (blob[index + 1] as number) };
    case 2:
      if (encoding !== 0x80 || index + 5 > blob.length)
        throw new Error(`ziplist entry at ${start} has an invalid string encoding`);
      return { header: 5, data: blob.readUInt32BE(index + 1) };
    default:
      return { header: 1, data: integerSize(encoding, start) };
  }
}

/** Bytes of an integer entry's value; 0 for the 4-bit immediates 0xf1 to 0xfd. */
function integerSize(encoding: number, start: number): number {
  if (encoding === 0xc0) return 2;
  if (encoding === 0xd0) return 4;
  if (encoding === 0xe0) return 8;
  if (encoding === 0xf0) return 3;
  if (encoding === 0xfe) return 1;
  if (encoding >= 0xf1 && encoding <= 0xfd) return 0;
  throw new Error(`ziplist entry at ${start} has the invalid encoding byte 0x${encoding.toString(16)}`);
}
