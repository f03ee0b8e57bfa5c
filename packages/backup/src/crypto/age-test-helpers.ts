import { Readable, Writable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** Test helper: runs `input` through `transform`, collecting the output (and what was emitted before a failure). */
export async function runThrough(
  transform: Transform,
  input: Buffer,
  writeSize = 16 * 1024,
): Promise<{ output: Buffer; error: unknown }> {
  const parts: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      parts.push(chunk);
      callback();
    },
  });
  async function* source(): AsyncGenerator<Buffer> {
    for (let offset = 0; offset < input.length; offset += writeSize) yield input.subarray(offset, offset + writeSize);
  }
  let error: unknown;
  try {
    await pipeline(Readable.from(source()), transform, sink);
  } catch (caught) {
    error = caught;
  }
  return { output: Buffer.concat(parts), error };
}
