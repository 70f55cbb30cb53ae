import { ParseError } from './parse-error.js';

/**
 * Code lengths of HPACK's static Huffman code, symbols 0 to 255 (RFC 7541
 * Appendix B). The code is canonical — codes of one length are consecutive and
 * ordered by symbol, and EOS (256, 30 bits) is all ones — so these lengths are
 * the whole table; the tests check known codes from the RFC's examples.
 */
const LENGTHS = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28,
  28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6,
  5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
  7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5,
  6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23,
  24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23,
  21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,
  19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23,
  26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
  30, // EOS
];
const EOS = 256;
const MAX_LENGTH = 30;

/** Canonical decoding tables: how many codes have each length, and the symbols in code order. */
const counts = new Array<number>(MAX_LENGTH + 1).fill(0);
const symbols: number[] = [];
for (let length = 1; length <= MAX_LENGTH; length++) {
  LENGTHS.forEach((l, symbol) => {
    if (l === length) {
      counts[length] = (counts[length] ?? 0) + 1;
      symbols.push(symbol);
    }
  });
}

/** The canonical code of a symbol, as [code, length]; for the tests, which compare it with the RFC. */
export function huffmanCode(symbol: number): [number, number] {
  let code = 0;
  let index = 0;
  for (let length = 1; length <= MAX_LENGTH; length++) {
    const count = counts[length] ?? 0;
    const at = symbols.indexOf(symbol, index);
    if (at !== -1 && at < index + count) return [code + (at - index), length];
    index += count;
    code = (code + count) * 2;
  }
  return [0, 0];
}

/**
 * Decodes a Huffman-coded HPACK string literal (RFC 7541 5.2). Throws
 * ParseError for EOS inside the data, padding longer than 7 bits, or padding
 * that is not the most significant bits of EOS (all ones).
 */
export function decodeHuffman(data: Uint8Array): Uint8Array {
  // Each symbol takes at least 5 bits, so the output is at most 8/5 of the input.
  const out = new Uint8Array(Math.ceil((data.length * 8) / 5));
  let written = 0;
  let code = 0; // the bits of the symbol being read
  let first = 0; // the first code of the current length
  let index = 0; // index in `symbols` of that first code
  let length = 0;
  let allOnes = true;
  for (const byte of data) {
    for (let bit = 7; bit >= 0; bit--) {
      const b = (byte >> bit) & 1;
      code = code * 2 + b;
      allOnes &&= b === 1;
      length++;
      const count = counts[length] ?? 0;
      if (code - first < count) {
        const symbol = symbols[index + code - first] ?? EOS;
        if (symbol === EOS) throw new ParseError('EOS inside a Huffman-coded string');
        out[written++] = symbol;
        code = 0;
        first = 0;
        index = 0;
        length = 0;
        allOnes = true;
        continue;
      }
      index += count;
      first = (first + count) * 2;
      if (length >= MAX_LENGTH) throw new ParseError('an invalid Huffman code');
    }
  }
  if (length > 7) throw new ParseError('Huffman padding longer than 7 bits');
  if (!allOnes) throw new ParseError('Huffman padding that is not all ones');
  return out.subarray(0, written);
}
