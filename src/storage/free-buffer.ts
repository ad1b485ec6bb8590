/**
 * Freeing a Buffer's memory at V8's next young-generation collection instead of its next full one.
 *
 * A Buffer's bytes live outside V8's heap and are freed when V8 collects the Buffer's ArrayBuffer
 * object. A buffer that lived through two scavenges (a part slab kept for the next part, a request
 * body chunk that waited while a part uploaded) has its object in the old generation, which only a
 * mark-compact collects, and V8 starts those from the growth of its own heap, not from these bytes:
 * measured on Ceph RGW (`npm run bench -- --s3`), 30-45 MiB of such dead buffers stayed resident
 * during 256 MiB pushes until one ran (docs/s3.md, "Memory: dead buffers").
 *
 * {@link freeSoon} moves the bytes to a fresh ArrayBuffer object that nothing references
 * (`structuredClone` with the buffer in its transfer list: no copy), so the next scavenge, which
 * comes every few MiB of allocation, frees them; the old object is left detached (length 0).
 */

/**
 * Lets `buffer`'s memory go at the next scavenge: `buffer` (and every view of its ArrayBuffer) is left
 * with length 0. Only for a buffer that owns its whole ArrayBuffer (from `Buffer.allocUnsafeSlow`, or a
 * request body's chunk as node's HTTP parser makes it) and that nothing will read again; a view into a
 * larger or shared ArrayBuffer (Node's 8 KiB pool, a slice) is left alone.
 * @returns whether the memory was handed over
 */
export function freeSoon(buffer: Buffer): boolean {
  const whole = buffer.buffer;
  if (buffer.byteOffset !== 0 || whole.byteLength !== buffer.byteLength || whole.byteLength === 0 || !(whole instanceof ArrayBuffer)) return false;
  structuredClone(whole, { transfer: [whole] });
  return true;
}
