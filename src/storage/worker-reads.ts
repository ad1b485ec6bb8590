/**
 * A server's walk reads (the uncached reads of small files and listings that a garbage collection
 * run and the admin index's walk make: `cache: false`), done synchronously on worker threads, in
 * batches: the filesystem driver's reads for a process that serves requests meanwhile (blocking-reads.ts
 * is the one for `wharf gc`, which serves nobody).
 *
 * Why: an asynchronous `fs.readFile` is four round trips to libuv's thread pool (open, fstat, read,
 * close), each a hand-over between the main thread and a pool thread. In the server's GC of a
 * 2,000-repository registry (loaded 2-core machine) the main thread spent 4.8 s of the run's 9.8 s in
 * the bindings that hand those calls over (open 1.6 s, read 0.9, readdir 0.85, fstat 0.75, close 0.72)
 * and 1.75 s in V8's garbage collector, against under 1 s in the collector's own code, and used twice
 * the CPU of `wharf gc` on the same registry (docs/performance.md). Here the reads issued during one
 * turn of the event loop go to a worker as one message (a large batch shared by up to {@link WORKERS}
 * workers, so a cold disk has several reads queued, as with libuv's pool); a worker reads each file with one open(2),
 * one pread(2) and one close(2), each folder with one readdir, and answers with one message whose file
 * contents share one transferred buffer. Files are opened with O_NONBLOCK: a FIFO in the storage tree
 * answers ESPIPE at once instead of holding its worker in open(2) until some writer appears, which
 * kept that worker's later batches waiting and made `process.exit` (the server's stop, even on a
 * second signal) wait forever, since Node joins every worker thread on exit. The main thread is never blocked by a read (a request is not
 * held up by a cold disk), and a batch of up to a few dozen reads costs it two messages.
 *
 * The workers serve every driver of the process; each is started with the first read given to it,
 * they keep the process alive only while reads are pending, and are stopped once idle for
 * {@link IDLE_STOP_MS} (their heaps are memory a server at idle need not hold). When one fails or exits,
 * the reads it had fail with that error and the next read given to its slot starts a new one.
 */
import { Worker } from 'node:worker_threads';

/**
 * The worker: a message `{ id, paths, dirs }` reads `paths[i]` (a folder's names when `dirs[i]` is 1,
 * else the file's bytes) and answers `{ id, bytes, results }`: per path `[start, end]` of its content in
 * `bytes` (transferred), the folder's names, or `{ code, message }` of the system error (its message naming the path).
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { closeSync, constants, openSync, readdirSync, readFileSync, readSync } = require('node:fs');
const FIRST = 64 * 1024;
// O_NONBLOCK: a FIFO (no writer) opens at once and its pread(2) answers ESPIPE; a regular file reads as without it
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;
const first = Buffer.allocUnsafe(FIRST);
function readFile(path) {
  const fd = openSync(path, OPEN_FLAGS);
  try {
    const n = readSync(fd, first, 0, FIRST, 0);
    return n < FIRST ? Buffer.from(first.subarray(0, n)) : readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}
parentPort.on('message', ({ id, paths, dirs }) => {
  const results = [];
  const files = [];
  let size = 0;
  for (let i = 0; i < paths.length; i++) {
    try {
      if (dirs[i] === 1) results.push(readdirSync(paths[i]));
      else {
        const content = readFile(paths[i]);
        results.push([size, size + content.length]);
        files.push(content);
        size += content.length;
      }
    } catch (err) {
      // a read's or readdir's own message names no path (ESPIPE: invalid seek, read): the path is added
      results.push({ code: err.code, message: err.message.includes(paths[i]) ? err.message : err.message + " '" + paths[i] + "'" });
    }
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const f of files) { bytes.set(f, at); at += f.length; }
  parentPort.postMessage({ id, bytes: bytes.buffer, results }, [bytes.buffer]);
});
`;

/** What the worker answers for one path. */
type Result = [number, number] | string[] | { code?: string; message: string };

interface Pending {
  paths: string[];
  dirs: number[];
  settle: { resolve: (value: never) => void; reject: (err: Error) => void }[];
}

/** A batch sent to one of the workers and not answered yet. */
interface Sent extends Pending {
  /** the worker's slot in {@link workers} */
  slot: number;
}

/**
 * How long the workers may stay idle before they are stopped, ms: each holds about 8 MiB of resident
 * memory (its isolate), given back when it stops; starting one again costs about 20 ms.
 */
export const IDLE_STOP_MS = 2_000;

/**
 * How many workers read at once: libuv's default thread pool size, the parallelism the asynchronous
 * reads had. On a cold disk one worker reading one file at a time took twice as long (scale bench,
 * `--scale-cold`, 2,000 repositories: admin index walk 7.1 s against 3.6 s with libuv's four threads,
 * in-server GC 9.1 s against 4.8 s); several requests in flight let the disk's queue work.
 */
export const WORKERS = 4;

/**
 * The fewest reads a worker is given when a batch is split: a batch of a few reads goes to one worker
 * (two messages), a large one is shared by up to {@link WORKERS} (a dry GC run asks for about 20 reads
 * a turn: four shares of five).
 */
const MIN_SHARE = 4;

const workers: (Worker | undefined)[] = Array.from({ length: WORKERS }, () => undefined);
let idleTimer: NodeJS.Timeout | undefined;
let nextBatch = 1;
/** the worker to give the next small batch, so that consecutive small batches run side by side */
let nextSlot = 0;
/** batches sent and not answered, by id */
const inFlight = new Map<number, Sent>();
/** the reads asked for during this turn of the event loop, sent at its end */
let gathering: Pending | undefined;

function shared(slot: number): Worker {
  const running = workers[slot];
  if (running) return running;
  const started = new Worker(WORKER_SOURCE, { eval: true, name: 'wharf-walk-reads' });
  started.unref();
  started.on('message', (m: { id: number; bytes: ArrayBuffer; results: Result[] }) => answer(m.id, m.bytes, m.results));
  const fail = (err: Error) => {
    if (workers[slot] !== started) return;
    workers[slot] = undefined;
    for (const [id, batch] of inFlight) {
      if (batch.slot !== slot) continue;
      inFlight.delete(id);
      for (const s of batch.settle) s.reject(err);
    }
    if (inFlight.size === 0) idle();
  };
  started.on('error', fail);
  started.on('exit', (code) => fail(new Error(`the walk reads worker exited (code ${code})`)));
  workers[slot] = started;
  return started;
}

function answer(id: number, bytes: ArrayBuffer, results: Result[]): void {
  const batch = inFlight.get(id);
  if (!batch) return;
  inFlight.delete(id);
  if (inFlight.size === 0) idle();
  for (let i = 0; i < results.length; i++) {
    const r = results[i]!;
    const s = batch.settle[i]!;
    if (Array.isArray(r) && batch.dirs[i] === 1) s.resolve(r as never);
    else if (Array.isArray(r)) s.resolve(Buffer.from(bytes, r[0] as number, (r[1] as number) - (r[0] as number)) as never);
    else s.reject(Object.assign(new Error(r.message), { code: r.code }));
  }
}

/** Lets the process exit meanwhile, and stops the workers if they get no read within {@link IDLE_STOP_MS}. */
function idle(): void {
  for (const w of workers) w?.unref();
  clearTimeout(idleTimer);
  idleTimer = setTimeout(() => {
    if (inFlight.size > 0) return;
    for (let slot = 0; slot < WORKERS; slot++) {
      const w = workers[slot];
      workers[slot] = undefined;
      void w?.terminate();
    }
  }, IDLE_STOP_MS).unref();
}

/** Sends this turn's reads: split into up to {@link WORKERS} shares of at least {@link MIN_SHARE}. */
function send(): void {
  const batch = gathering!;
  gathering = undefined;
  const shares = Math.max(1, Math.min(WORKERS, Math.floor(batch.paths.length / MIN_SHARE)));
  const size = Math.ceil(batch.paths.length / shares);
  for (let start = 0; start < batch.paths.length; start += size) {
    const end = start + size;
    dispatch({ paths: batch.paths.slice(start, end), dirs: batch.dirs.slice(start, end), settle: batch.settle.slice(start, end) });
  }
}

function dispatch(share: Pending): void {
  const slot = nextSlot;
  nextSlot = (nextSlot + 1) % WORKERS;
  let w: Worker;
  try {
    w = shared(slot);
  } catch (err) {
    for (const s of share.settle) s.reject(err as Error);
    return;
  }
  if (inFlight.size === 0) clearTimeout(idleTimer);
  w.ref();
  const id = nextBatch++;
  inFlight.set(id, { ...share, slot });
  w.postMessage({ id, paths: share.paths, dirs: share.dirs });
}

function read<T>(path: string, dir: number): Promise<T> {
  if (!gathering) {
    gathering = { paths: [], dirs: [], settle: [] };
    setImmediate(send);
  }
  const batch = gathering;
  batch.paths.push(path);
  batch.dirs.push(dir);
  return new Promise<T>((resolve, reject) => batch.settle.push({ resolve: resolve as (value: never) => void, reject }));
}

/** Walk reads on the shared worker threads (see the module comment); the same calls as {@link BlockingReads}'s. */
export class WorkerReads {
  /**
   * The whole content of the file at `full` (an absolute path).
   * @throws the system error, its `code` kept (ENOENT for a missing file, EISDIR for a folder)
   */
  readFile(full: string): Promise<Buffer> {
    return read<Buffer>(full, 0);
  }

  /**
   * The names in folder `full`, unsorted.
   * @throws the system error, its `code` kept (ENOENT for a missing folder, ENOTDIR for a file)
   */
  readdir(full: string): Promise<string[]> {
    return read<string[]>(full, 1);
  }
}
