/**
 * The key a digest is kept as in a digest table (digest-table.ts's DigestTable): the first 128 bits of its
 * hash (its first 32 hex characters) as 4 32-bit words. Two different digests share them only by
 * chance (about n^2 / 2^129: 1e-26 for 2.4 million blobs) or by an attacker spending 2^64 hash
 * computations, which is out of reach.
 */

/** The value (0-15) of hex character code `c` ('0'-'9', 'a'-'f', 'A'-'F'). */
function nibble(c: number): number {
  return c <= 57 ? c - 48 : (c | 32) - 87;
}

/** Writes into `into` the 4 words (128 bits) a digest is kept as: its first 32 hex characters after the colon, 8 per word. */
export function digestKey(digest: string, into: Uint32Array): void {
  let o = digest.indexOf(':') + 1;
  for (let w = 0; w < 4; w++) {
    let v = 0;
    for (const end = o + 8; o < end; o++) v = (v << 4) | nibble(digest.charCodeAt(o));
    into[w] = v >>> 0;
  }
}
