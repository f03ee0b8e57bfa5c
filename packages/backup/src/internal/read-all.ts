import type { Readable } from 'node:stream';

/** Reads a (small) stream into one Buffer, failing beyond `maxBytes` so a bad object cannot exhaust memory. */
export async function readAll(stream: Readable, maxBytes = 16 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    total += buffer.length;
    if (total > maxBytes) {
      stream.destroy();
      throw new Error(`object larger than ${maxBytes} bytes`);
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}
