import { readFile } from 'node:fs/promises';

import { describe, expect, it } from 'vitest';

import { hasProgramInterpreter } from './busybox-image.js';

describe('hasProgramInterpreter', () => {
  it('tells a dynamically linked ELF (node itself) from the static busybox', async () => {
    expect(hasProgramInterpreter(await readFile(process.execPath))).toBe(true);
    expect(hasProgramInterpreter(await readFile('/bin/busybox'))).toBe(false);
  });

  it('treats non-ELF input as not dynamically linked', () => {
    expect(hasProgramInterpreter(Buffer.from('#!/bin/sh\necho hello\n'))).toBe(false);
  });
});
