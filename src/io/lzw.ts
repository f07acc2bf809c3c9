/**
 * Decoder for TIFF's LZW (MSB-first codes of 9–12 bits, Clear = 256, EOI = 257, the code
 * width growing one code early as libtiff writes it). Returns exactly `expected` bytes, or
 * throws a plain Error naming the fault; the caller adds which file and strip.
 */
export function lzwDecode(input: Uint8Array, expected: number): Uint8Array {
  const out = new Uint8Array(expected);
  const prefix = new Int16Array(4096);
  const suffix = new Uint8Array(4096);
  const length = new Uint16Array(4096);
  for (let i = 0; i < 256; i++) {
    prefix[i] = -1;
    suffix[i] = i;
    length[i] = 1;
  }
  const totalBits = input.length * 8;
  let bitPos = 0;
  let width = 9;
  let next = 258;
  let prev = -1;
  let op = 0;

  const readCode = (): number => {
    if (bitPos + width > totalBits) return 257;
    let code = 0;
    for (let i = 0; i < width; i++) {
      const bit = (input[(bitPos + i) >> 3]! >> (7 - ((bitPos + i) & 7))) & 1;
      code = (code << 1) | bit;
    }
    bitPos += width;
    return code;
  };

  /** Writes the string of `code`; returns its first byte. */
  const emit = (code: number): number => {
    const len = length[code]!;
    let c = code;
    for (let i = len - 1; i >= 0; i--) {
      if (op + i < expected) out[op + i] = suffix[c]!;
      if (i === 0) break;
      c = prefix[c]!;
    }
    op += len;
    return suffix[c]!;
  };

  for (;;) {
    const code = readCode();
    if (code === 257) break;
    if (code === 256) {
      width = 9;
      next = 258;
      prev = -1;
      continue;
    }
    if (prev === -1) {
      if (code > 255) throw new Error(`LZW stream starts with code ${code}, not a literal`);
      out[op++] = code;
      prev = code;
      continue;
    }
    let first: number;
    if (code < next) {
      first = emit(code);
    } else if (code === next) {
      first = emit(prev);
      if (op < expected) out[op] = first;
      op += 1;
    } else {
      throw new Error(`LZW code ${code} is beyond the table (next free code ${next})`);
    }
    if (next < 4096) {
      prefix[next] = prev;
      suffix[next] = first;
      length[next] = length[prev]! + 1;
      next++;
      if (next >= (1 << width) - 1 && width < 12) width++;
    }
    prev = code;
    if (op >= expected) break;
  }
  if (op < expected) throw new Error(`LZW data decodes to ${op} bytes, expected ${expected}`);
  return out;
}
