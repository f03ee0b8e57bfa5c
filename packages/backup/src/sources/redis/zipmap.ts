/** Validates a zipmap blob (the hash encoding before Redis 2.6): every field and value length, terminator. */
export function checkZipmap(blob: Buffer): void {
  let index = 1;
  const readLength = (): number => {
    const first = blob[index];
    if (first === undefined) throw new Error('zipmap is cut off');
    if (first < 254) {
      index += 1;
      return first;
    }
    if (first === 254 && index + 5 <= blob.length) {
      index += 5;
      return blob.readUInt32LE(index - 4);
    }
    throw new Error('zipmap has an invalid length');
  };
  for (;;) {
    if (index >= blob.length) throw new Error('zipmap has no terminator');
    if (blob[index] === 0xff) break;
    const fieldLength = readLength();
    index += fieldLength;
    const valueLength = readLength();
    const free = blob[index];
    if (free === undefined) throw new Error('zipmap is cut off');
    index += 1 + valueLength + free;
  }
  if (index !== blob.length - 1) throw new Error('zipmap has bytes after its terminator');
}
