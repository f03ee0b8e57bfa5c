/** Validates a listpack blob (header, every entry and its back-length, terminator); returns its element count. */
export function checkListpack(blob: Buffer): number {
  if (blob.length < 7) throw new Error(`listpack of ${blob.length} bytes is shorter than its header`);
  const total = blob.readUInt32LE(0);
  if (total !== blob.length) throw new Error(`listpack header says ${total} bytes, the string has ${blob.length}`);
  const declared = blob.readUInt16LE(4);
  let index = 6;
  let count = 0;
  for (;;) {
    if (index >= blob.length) throw new Error('listpack has no terminator');
    const first = blob[index] as number;
    if (first === 0xff) break;
    const start = index;
    let size: number;
    if ((first & 0x80) === 0) size = 1;
    else if ((first & 0xc0) === 0x80) size = 1 + (first & 0x3f);
    else if ((first & 0xe0) === 0xc0) size = 2;
    else if ((first & 0xf0) === 0xe0) {
      if (index + 1 >= blob.length) throw new Error('listpack entry header is cut off');
      size = 2 + (((first & 0x0f) << 8) | (blob[index + 1] as number));
    } else if (first === 0xf0) {
      if (index + 5 > blob.length) throw new Error('listpack entry header is cut off');
      size = 5 + blob.readUInt32LE(index + 1);
    } else if (first === 0xf1) size = 3;
    else if (first === 0xf2) size = 4;
    else if (first === 0xf3) size = 5;
    else if (first === 0xf4) size = 9;
    else throw new Error(`listpack entry at ${index} has the invalid encoding byte 0x${first.toString(16)}`);
    const backlengthSize = size < 128 ? 1 : size < 16_384 ? 2 : size < 2_097_152 ? 3 : size < 268_435_456 ? 4 : 5;
    index += size + backlengthSize;
    if (index >= blob.length) throw new Error('listpack entry overruns the listpack');
    // The back-length is stored last-byte-first with a continuation bit, so it is decoded from its end.
    let backlength = 0;
    let shift = 0;
    for (let position = index - 1; position >= start + size; position--) {
      const byte = blob[position] as number;
      backlength += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    }
    if (backlength !== size)
      throw new Error(`listpack entry at ${start} has back-length ${backlength}, expected ${size}`);
    count++;
  }
  if (index !== blob.length - 1) throw new Error('listpack has bytes after its terminator');
  if (declared !== 0xffff && declared !== count)
    throw new Error(`listpack header says ${declared} elements, found ${count}`);
  if (count === 0) throw new Error('listpack is empty');
  return count;
}
