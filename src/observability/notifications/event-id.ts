/**
 * Random (version 4) UUIDs for event ids (RFC 9562 section 5.4, as crypto.randomUUID draws them),
 * kept as four 32-bit words and written as hex straight into an envelope: a pull event's id is drawn
 * in the delivery's turn, and randomUUID's string cost as much as writing the rest of the event.
 * The words come from a pool filled by crypto.randomFillSync, as randomUUID's own entropy cache.
 */
import { randomFillSync } from 'node:crypto';

/** Words drawn per refill of the pool (4 KiB of entropy, a UUID per 4 words). */
const POOL_WORDS = 1024;
const pool = new Int32Array(POOL_WORDS);
let next = POOL_WORDS;
const HEX = Buffer.from('0123456789abcdef', 'latin1');

function word(): number {
  if (next === POOL_WORDS) {
    randomFillSync(pool);
    next = 0;
  }
  return pool[next++]!;
}

/** A version 4 UUID as four signed 32-bit words (big-endian order of its 16 bytes). */
export class UuidWords {
  readonly w0 = word();
  /** bytes 4-7: version 4 in the high nibble of byte 6 */
  readonly w1 = (word() & 0xffff0fff) | 0x00004000;
  /** bytes 8-11: variant 10 in the top bits of byte 8 */
  readonly w2 = (word() & 0x3fffffff) | 0x80000000;
  readonly w3 = word();

  /** Its text, `xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx`. */
  text(): string {
    const h = (w: number): string => (w >>> 0).toString(16).padStart(8, '0');
    const [a, b, c, d] = [h(this.w0), h(this.w1), h(this.w2), h(this.w3)];
    return `${a}-${b.slice(0, 4)}-${b.slice(4)}-${c.slice(0, 4)}-${c.slice(4)}${d}`;
  }

  /** Writes {@link text} (36 bytes, ASCII) into `into` at `at`; @returns the offset after it */
  write(into: Buffer, at: number): number {
    at = hex(this.w0, 28, 0, into, at);
    into[at++] = 0x2d;
    at = hex(this.w1, 28, 16, into, at);
    into[at++] = 0x2d;
    at = hex(this.w1, 12, 0, into, at);
    into[at++] = 0x2d;
    at = hex(this.w2, 28, 16, into, at);
    into[at++] = 0x2d;
    at = hex(this.w2, 12, 0, into, at);
    return hex(this.w3, 28, 0, into, at);
  }
}

/** Writes the hex digits of `w` from bit `from` down to bit `to` (multiples of 4). */
function hex(w: number, from: number, to: number, into: Buffer, at: number): number {
  for (let shift = from; shift >= to; shift -= 4) into[at++] = HEX[(w >>> shift) & 15]!;
  return at;
}
