import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { HoldBackStream } from './hold-back-stream.js';

describe('HoldBackStream', () => {
  it('passes every chunk on, the last one only once its input ended cleanly', async () => {
    const hold = new HoldBackStream();
    const seen: string[] = [];
    hold.on('data', (chunk: Buffer) => seen.push(chunk.toString()));
    hold.write(Buffer.from('a'));
    hold.write(Buffer.from('b'));
    hold.write(Buffer.from('c'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen).toEqual(['a', 'b']);
    hold.end();
    await new Promise((resolve) => hold.once('end', resolve));
    expect(seen).toEqual(['a', 'b', 'c']);
  });

  it('never emits the held chunk when its input fails', async () => {
    const input = new PassThrough();
    const hold = new HoldBackStream();
    const seen: string[] = [];
    hold.on('data', (chunk: Buffer) => seen.push(chunk.toString()));
    const failed = new Promise((resolve) => hold.once('error', resolve));
    input.on('error', (error) => hold.destroy(error));
    input.pipe(hold);
    input.write('first');
    input.write('last');
    await new Promise((resolve) => setImmediate(resolve));
    input.destroy(new Error('sha256 mismatch'));
    await failed;
    expect(seen).toEqual(['first']);
  });
});
