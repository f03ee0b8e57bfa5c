/** Decompresses one LZF block (liblzf format as used by Redis) into exactly `outputLength` bytes, or throws. */
export function lzfDecompress(input: Uint8Array, outputLength: number): Buffer {
  const output = Buffer.alloc(outputLength);
  let inputIndex = 0;
  let outputIndex = 0;
  while (inputIndex < input.length) {
    const control = input[inputIndex++] as number;
    if (control < 32) {
      const run = control + 1;
      if (outputIndex + run > outputLength) throw new Error('LZF literal run overflows the declared length');
      if (inputIndex + run > input.length) throw new Error('LZF literal run overruns the compressed data');
      output.set(input.subarray(inputIndex, inputIndex + run), outputIndex);
      inputIndex += run;
      outputIndex += run;
      continue;
    }
    let length = control >> 5;
    let reference = outputIndex - ((control & 0x1f) << 8) - 1;
    if (inputIndex >= input.length) throw new Error('LZF back reference is cut off');
    if (length === 7) {
      length += input[inputIndex++] as number;
      if (inputIndex >= input.length) throw new Error('LZF back reference is cut off');
    }
    reference -= input[inputIndex++] as number;
    length += 2;
    if (outputIndex + length > outputLength) throw new Error('LZF back reference overflows the declared length');
    if (reference < 0) throw new Error('LZF back reference points before the start');
    for (let index = 0; index < length; index++) output[outputIndex++] = output[reference++] as number;
  }
  if (outputIndex !== outputLength)
    throw new Error(`LZF data decompresses to ${outputIndex} bytes, the header says ${outputLength}`);
  return output;
}
