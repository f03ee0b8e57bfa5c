/** Validates an intset blob (element width, length, size); returns its element count. */
export function checkIntset(blob: Buffer): number {
  if (blob.length < 8) throw new Error('intset is shorter than its header');
  const width = blob.readUInt32LE(0);
  const length = blob.readUInt32LE(4);
  if (width !== 2 && width !== 4 && width !== 8) throw new Error(`intset has the invalid element width ${width}`);
  if (blob.length !== 8 + width * length)
    throw new Error(`intset of ${length} × ${width}-byte elements cannot be ${blob.length} bytes`);
  return length;
}
