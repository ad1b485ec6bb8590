/**
 * The sha256 of a blob fill's bytes, computed on a worker thread from the fill window's blocks
 * (SharedArrayBuffer memory, so no byte is copied to reach it). A cold pull's main thread receives the
 * upstream's bytes, copies them into the window and sends them to its clients; hashing them there too
 * (about a fifth of its time, docs/performance.md "Pull-through cold path") made the cold pull the sum
 * of receiving, hashing and sending on one core. On the worker the hash runs beside them, on another
 * core. One worker serves every fill of the process (a `Hash` per fill), started with the first fill;
 * it keeps the process alive only while a digest is awaited.
 */
import { Worker } from 'node:worker_threads';
import type { Digest } from '../oci/digest.js';

/** The worker: a Hash per fill id; `u` hashes a piece of shared memory and acknowledges it, `d` answers the digest, `x` drops a fill. */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const hashes = new Map();
parentPort.on('message', (m) => {
  if (m.op === 'u') {
    let hash = hashes.get(m.id);
    if (!hash) hashes.set(m.id, (hash = createHash('sha256')));
    hash.update(new Uint8Array(m.memory, m.offset, m.length));
    parentPort.postMessage({ op: 'h', id: m.id, length: m.length });
  } else if (m.op === 'd') {
    const hash = hashes.get(m.id) ?? createHash('sha256');
    hashes.delete(m.id);
    parentPort.postMessage({ op: 'd', id: m.id, digest: 'sha256:' + hash.digest('hex') });
  } else hashes.delete(m.id);
});
`;

interface WorkerMessage {
  op: 'h' | 'd';
  id: number;
  length?: number;
  digest?: Digest;
}

let worker: Worker | undefined;
let nextId = 1;
const active = new Map<number, BlockHasher>();
/** hashers waiting for their digest: the worker is referenced (keeps the process alive) while there are any */
let awaiting = 0;

/** Starts the hashing worker now (a pull-through cache at start-up), so that the first fill does not wait for it (~30 ms). */
export function startHashing(): void {
  shared();
}

function shared(): Worker {
  if (worker) return worker;
  const started = new Worker(WORKER_SOURCE, { eval: true, name: 'wharf-fill-hasher' });
  started.unref();
  started.on('message', (m: WorkerMessage) => active.get(m.id)?.answer(m));
  const fail = (err: Error) => {
    if (worker === started) worker = undefined;
    for (const hasher of [...active.values()]) hasher.fail(err);
  };
  started.on('error', fail);
  started.on('exit', (code) => fail(new Error(`the hashing worker exited (code ${code})`)));
  worker = started;
  return started;
}

/** The running sha256 of one fill, on the shared worker thread. */
export class BlockHasher {
  readonly #id = nextId++;
  #posted = 0;
  #hashed = 0;
  readonly #acks: { end: number; done: () => void }[] = [];
  #digest: { resolve: (d: Digest) => void; reject: (err: Error) => void } | undefined;
  #error: Error | undefined;

  constructor() {
    shared();
    active.set(this.#id, this);
  }

  /** Bytes handed to {@link update} whose hashing has not completed. */
  get pending(): number {
    return this.#posted - this.#hashed;
  }

  /**
   * Hashes `bytes` after those given before. `bytes` must view a SharedArrayBuffer and stay unchanged
   * until `done` is called (once it was hashed; also when the hasher failed or was discarded).
   * @throws TypeError when `bytes` does not view shared memory
   */
  update(bytes: Buffer, done: () => void): void {
    if (!(bytes.buffer instanceof SharedArrayBuffer)) throw new TypeError('BlockHasher.update needs bytes in a SharedArrayBuffer');
    if (this.#error) return done();
    this.#posted += bytes.length;
    this.#acks.push({ end: this.#posted, done });
    shared().postMessage({ op: 'u', id: this.#id, memory: bytes.buffer, offset: bytes.byteOffset, length: bytes.length });
  }

  /**
   * The digest of every byte given to {@link update}; the hasher is finished after it.
   * @throws Error when the worker failed
   */
  digest(): Promise<Digest> {
    if (this.#error) return Promise.reject(this.#error);
    return new Promise<Digest>((resolve, reject) => {
      this.#digest = { resolve, reject };
      if (awaiting++ === 0) shared().ref();
      shared().postMessage({ op: 'd', id: this.#id });
    });
  }

  /** Drops the hash (a failed fill): pending pieces are released as they are hashed. */
  discard(): void {
    if (!active.has(this.#id) || this.#digest) return;
    worker?.postMessage({ op: 'x', id: this.#id });
    this.fail(new Error('the fill was abandoned'));
  }

  /** A message of the worker about this hasher (module use). */
  answer(m: WorkerMessage): void {
    if (m.op === 'h') {
      this.#hashed += m.length!;
      while (this.#acks.length > 0 && this.#acks[0]!.end <= this.#hashed) this.#acks.shift()!.done();
      return;
    }
    this.#settle();
    this.#digest?.resolve(m.digest!);
  }

  /** The worker is gone, or the hash was dropped: every piece is released, the digest rejects (module use). */
  fail(err: Error): void {
    this.#error = err;
    this.#hashed = this.#posted; // nothing is pending any more: a fill paused on the hash goes on to its own failure
    for (const ack of this.#acks.splice(0)) ack.done();
    this.#settle();
    this.#digest?.reject(err);
  }

  #settle(): void {
    active.delete(this.#id);
    if (this.#digest && --awaiting === 0) worker?.unref();
  }
}
