/**
 * Imported FIRST by main.ts, for its side effect: `wharf serve` caps V8's young generation at 8 MiB
 * (see young-generation.ts) before the other modules load. Loading them is the process's busiest
 * allocation: capped later (after start-up), the young generation had already grown to V8's 32 MiB
 * ceiling, and V8 gives that back only once allocation slows down.
 */
import { capYoungGeneration } from './young-generation.js';

/** Bytes of V8's young generation the server keeps (V8's own ceiling is 32 MiB). */
export const SERVER_YOUNG_GENERATION_BYTES = 8 * 1024 * 1024;

if (process.argv[2] === 'serve') capYoungGeneration(SERVER_YOUNG_GENERATION_BYTES);
