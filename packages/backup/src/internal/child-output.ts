import { randomBytes } from 'node:crypto';
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';

/** Longest socket path taken everywhere (`sun_path` holds 104 bytes on macOS, 108 on Linux). */
const MAX_SOCKET_PATH_BYTES = 100;
/** Bytes of the one buffer every read of the socket lands in. */
const READ_BYTES = 256 * 1024;

/** A child's stdout read through a local socket (see {@link createChildOutput}). */
export interface ChildOutput {
  /** The child's end: give it to `spawn` as stdout, then call {@link ChildOutput.handedOver}. */
  childEnd: Socket;
  /** What the child writes, in blocks of `blockBytes` (the last one shorter); ends when the child's end closes. */
  stream: Readable;
  /** Closes this process's copy of the child's end once the child holds its own (after `spawn`). */
  handedOver(): void;
}

/**
 * A child's stdout as a connected pair of local stream sockets (what a `'pipe'` stdio is on Unix too), the parent's
 * end read with `onread` into one reused buffer and copied once into blocks of `blockBytes`: no allocation and no
 * stream machinery per read. pg_dump writes 4 KiB at a time, which a `'pipe'` stdout turns into tens of thousands of
 * reads, each allocating a buffer (and copying it again when short) and running the stream callbacks. Backpressure
 * holds: reading stops while a block waits for the consumer. The socket lives in `directory` (private, 0700) for the
 * instant it takes to connect. Resolves `undefined` where no such socket can be made (Windows, a long path): use a
 * pipe then.
 */
export async function createChildOutput(directory: string, blockBytes: number): Promise<ChildOutput | undefined> {
  const path = join(directory, `stdout-${randomBytes(4).toString('hex')}.sock`);
  if (process.platform === 'win32' || Buffer.byteLength(path) > MAX_SOCKET_PATH_BYTES) return undefined;
  const server = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => resolve());
    });
  } catch {
    server.close();
    return undefined;
  }
  let block = Buffer.allocUnsafe(blockBytes);
  let filled = 0;
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  const parentEnd: Socket = connect({
    path,
    onread: {
      buffer: Buffer.allocUnsafe(READ_BYTES),
      callback: (bytes: number, buffer: Uint8Array) => {
        let offset = 0;
        while (offset < bytes) {
          const copied = Math.min(bytes - offset, blockBytes - filled);
          block.set(buffer.subarray(offset, offset + copied), filled);
          filled += copied;
          offset += copied;
          if (filled === blockBytes) {
            const full = block;
            block = Buffer.allocUnsafe(blockBytes);
            filled = 0;
            if (!stream.push(full)) parentEnd.pause();
          }
        }
        return true;
      },
    },
  });
  const stream = new Readable({
    highWaterMark: blockBytes,
    read: () => {
      parentEnd.resume();
    },
    destroy: (error, callback) => {
      parentEnd.destroy();
      callback(error);
    },
  });
  parentEnd.once('end', () => {
    if (filled > 0) stream.push(block.subarray(0, filled));
    stream.push(null);
  });
  parentEnd.once('error', (error) => stream.destroy(error));
  try {
    const childEnd = await Promise.race([accepted, new Promise<never>((_, reject) => parentEnd.once('error', reject))]);
    return { childEnd, stream, handedOver: () => childEnd.destroy() };
  } catch {
    stream.destroy();
    return undefined;
  } finally {
    server.close();
  }
}
