/**
 * A cap on V8's young generation in the server's process. Under a load of small requests (manifest
 * GET/HEAD/PUT, listings: many short-lived objects a second) V8 doubles its young generation's two
 * semi-spaces up to 16 MiB each, and that memory stays resident while the load lasts: 32 MiB of a
 * registry whose whole resident set is meant to stay under 150 MiB. `node --max-semi-space-size=4`
 * would bound it, but that is a start-up flag (it sizes the heap before any code runs) and `wharf serve`
 * is started as a plain command. What V8 does read while it runs is the growth factor
 * (`--semi-space-growth-factor`, read at each growth): so after each scavenge (a `gc` performance
 * entry), growth is turned off while the young generation is at its cap and on again below it (V8
 * shrinks it when the load ends). A scavenge that lands before the entry is seen can still grow it one
 * step past the cap.
 */
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';

/** V8's own growth factor of the semi-spaces (its default). */
const DEFAULT_GROWTH = 2;

/** The bytes of V8's young generation (both semi-spaces) now. */
export function youngGenerationBytes(): number {
  return getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0;
}

/**
 * Keeps V8's young generation at about `maxBytes` (both semi-spaces together) from now on.
 * @returns a function that stops the cap (growth allowed again)
 */
export function capYoungGeneration(maxBytes: number): () => void {
  let growing = true;
  const setGrowth = (grow: boolean): void => {
    if (grow === growing) return;
    growing = grow;
    setFlagsFromString(`--semi-space-growth-factor=${grow ? DEFAULT_GROWTH : 1}`);
  };
  const observer = new PerformanceObserver((list) => {
    if (list.getEntries().some((e) => (e as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR)) {
      setGrowth(youngGenerationBytes() < maxBytes);
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  setGrowth(youngGenerationBytes() < maxBytes);
  return () => {
    observer.disconnect();
    setGrowth(true);
  };
}
