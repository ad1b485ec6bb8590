/** Operations on sorted arrays of distinct blob ids (a repository's references in the admin index). */

/** The sorted union of two sorted id arrays. */
export function union(a: Uint32Array, b: Uint32Array): Uint32Array {
  if (b.length === 0) return a;
  const out = new Uint32Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let n = 0;
  while (i < a.length || j < b.length) {
    const x = i < a.length ? a[i]! : Infinity;
    const y = j < b.length ? b[j]! : Infinity;
    const v = Math.min(x, y);
    if (x === v) i += 1;
    if (y === v) j += 1;
    out[n++] = v;
  }
  return n === a.length ? a : out.slice(0, n);
}

/** The index of `value` in `sorted`, or -1. */
export function binarySearch(sorted: Uint32Array, value: number): number {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < value) lo = mid + 1;
    else if (sorted[mid]! > value) hi = mid - 1;
    else return mid;
  }
  return -1;
}
