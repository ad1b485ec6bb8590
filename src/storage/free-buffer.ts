/**
 * Freeing a Buffer's memory as soon as its user is done with it, instead of at V8's next collection.
 *
 * A Buffer's bytes live outside V8's heap and are freed when V8 collects the Buffer's ArrayBuffer
 * object. A request body's 64 KiB chunks come from the C library's heap and wait for the next scavenge
 * (10-20 MiB of them at a push's peak on Ceph RGW); a buffer that lived through two scavenges (a
 * part slab kept for the next part, a chunk that waited while a part uploaded) has its object in the
 * old generation, which only a mark-compact collects, and V8 starts those from the growth of its own
 * heap, not from these bytes: 30-45 MiB of such dead buffers stayed resident during 256 MiB pushes
 * (docs/s3.md, "Memory: dead buffers").
 *
 * {@link freeBuffer} frees the bytes at once with `ArrayBuffer.prototype.transfer(0)` (ES2024): Node 22
 * has it; Node 20's V8 (11.3) has it staged behind `--harmony-rab-gsab-transfer`, which only a context
 * created after the flag is set gets, and that context's function works on this context's buffers.
 * Where neither is there, the bytes move to a fresh ArrayBuffer object that nothing references
 * (`structuredClone` with the buffer in its transfer list: no copy), which the next scavenge frees.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type Transfer = (this: ArrayBuffer, newLength?: number) => ArrayBuffer;

/** `ArrayBuffer.prototype.transfer`: the runtime's own, else the staged one of a fresh context, else undefined. */
function findTransfer(): Transfer | undefined {
  const own = (ArrayBuffer.prototype as { transfer?: Transfer }).transfer;
  if (typeof own === 'function') return own;
  setFlagsFromString('--harmony-rab-gsab-transfer');
  const staged: unknown = runInNewContext('ArrayBuffer.prototype.transfer');
  return typeof staged === 'function' ? (staged as Transfer) : undefined;
}

const transfer = findTransfer();

/** Whether {@link freeBuffer} frees at once (else at the next scavenge). */
export const freesAtOnce = transfer !== undefined;

/**
 * Frees `buffer`'s memory (at once where the runtime allows, else at the next scavenge): `buffer`, and
 * every view of its ArrayBuffer, is left with length 0. Only for a buffer that owns its whole
 * ArrayBuffer (from `Buffer.allocUnsafeSlow`, or a request body's chunk as node's HTTP parser makes
 * it) that nothing will read again, native code included (a socket write must have called back);
 * a view into a larger or shared ArrayBuffer (Node's 8 KiB pool, a slice) is left alone.
 * @returns whether the memory was let go
 */
export function freeBuffer(buffer: Buffer): boolean {
  const whole = buffer.buffer;
  if (buffer.byteOffset !== 0 || whole.byteLength !== buffer.byteLength || whole.byteLength === 0 || !(whole instanceof ArrayBuffer)) return false;
  if (transfer) transfer.call(whole, 0);
  else structuredClone(whole, { transfer: [whole] });
  return true;
}
