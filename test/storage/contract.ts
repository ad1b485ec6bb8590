/**
 * The StorageDriver contract: ONE suite of behaviours that every driver must show, run by one small
 * test file per driver (`memory.test.ts`, `filesystem.test.ts`, and `s3.test.ts` when that driver
 * lands). Each test starts from an empty driver, removes what it wrote, and the `afterEach` hook checks
 * that `list('/')` is empty again, so a driver that leaves objects (or empty folders) behind fails.
 */
import { createHash, randomBytes } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { setImmediate as nextTurn, setTimeout as delay } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type StorageDriver } from '../../src/storage/driver.js';
import { AppendedUnreadableError, InvalidOffsetError, InvalidPathError, PathNotFoundError } from '../../src/storage/driver-errors.js';

/** What a driver's test file hands to {@link driverContract} for each test case. */
export interface DriverFixture {
  /** A driver over fresh, empty storage. */
  driver: StorageDriver;
  /** Releases the storage behind `driver` (a temporary folder, a bucket prefix); runs after each test. */
  cleanup?: () => Promise<void>;
  /**
   * A new driver instance over the SAME storage, as after a server restart. Omit it for a driver whose
   * content lives only in its instance (memory): the contract then keeps using `driver`.
   */
  reopen?: () => Promise<StorageDriver>;
  /**
   * True when concurrent appends at one offset through DIFFERENT instances over the same store still
   * let at most one succeed (S3: part objects checked after writing); the contract then tests it across
   * instances, else through one instance.
   */
  appendsExclusiveAcrossInstances?: boolean;
  /**
   * True for a TEST store that writes objects in place, so a concurrent reader may see part of a write or
   * fail (s3rver; real S3 is atomic): the atomicity test then checks only that the last whole write wins.
   */
  storeWritesInPlace?: boolean;
  /** Rounds of the delete-versus-write race (default 50); a store with slow requests may ask for fewer. */
  raceRounds?: number;
  /**
   * Keys per page of the driver's listings, for a driver that pages them (S3): the long-listing test
   * then writes a few pages' worth of children instead of 1,500, which cost 15-40 s on s3rver.
   */
  listPageSize?: number;
}

/** Children of the long-listing test: 1,500, or three pages and a bit for a paging driver (at least 101, for the k0 k1 k10 k100 order). */
function manyChildren(fixture: DriverFixture): number {
  return fixture.listPageSize === undefined ? 1500 : Math.max(101, 3 * fixture.listPageSize + 10);
}

const KiB = 1024;
const MiB = 1024 * KiB;

/** Every byte of a stream, concatenated. */
async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

/** Hex sha256 and length of a stream, read chunk by chunk (never held whole). */
async function digestStream(stream: Readable): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of stream) {
    const b = chunk as Uint8Array;
    hash.update(b);
    size += b.length;
  }
  return { sha256: hash.digest('hex'), size };
}

/** Appends `source` at the chunked object's current size. */
async function appendAtEnd(d: StorageDriver, path: string, source: Readable): Promise<number> {
  return d.append(path, source, { offset: (await d.appendedState(path)).size });
}

/** The UTF-8 text of a chunked object's bytes. */
async function contentOf(d: StorageDriver, path: string): Promise<string> {
  return (await collect(await d.appendedReader(path, await d.appendedState(path)))).toString('utf8');
}

/** A readable stream over `chunks`, one `data` event per chunk. */
function streamOf(...chunks: Uint8Array[]): Readable {
  return Readable.from(chunks, { objectMode: false });
}

/** Settles `promise` into a value (never rejects), so a rejection cannot go unhandled while the test waits. */
function settle<T>(promise: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  return promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

/** `promise`, or a rejection naming `what` when it has not settled within `ms` milliseconds. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  const timeout = new AbortController();
  const expired = delay(ms, undefined, { signal: timeout.signal }).then(
    () => {
      throw new Error(`${what} did not settle within ${ms} ms`);
    },
    () => undefined as never,
  );
  try {
    return await Promise.race([promise, expired]);
  } finally {
    timeout.abort();
  }
}

/** Polls `check` every few milliseconds until it returns true; throws after `ms` milliseconds. */
async function until(check: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(5);
  }
}

/** Records `uncaughtException` and `unhandledRejection` events until `stop()`, which returns them. */
function trapUnhandled(): { stop: () => Promise<unknown[]> } {
  const seen: unknown[] = [];
  const record = (err: unknown): void => void seen.push(err);
  process.on('uncaughtException', record);
  process.on('unhandledRejection', record);
  return {
    async stop() {
      // Let late stream callbacks (close, error events after destroy) run before looking.
      for (let i = 0; i < 5; i++) await nextTurn();
      await delay(20);
      process.off('uncaughtException', record);
      process.off('unhandledRejection', record);
      return seen;
    },
  };
}

/** Runs `fn` over `items` with at most `limit` calls in flight; waits for all, then throws the first error. */
async function mapLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      try {
        await fn(items[next++]!);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  const results = await Promise.allSettled(Array.from({ length: Math.min(limit, items.length) }, worker));
  for (const r of results) if (r.status === 'rejected') throw r.reason;
}

/** Calls `fn` and returns its rejection, also catching a synchronous throw. */
async function failureOf(fn: () => Promise<unknown>): Promise<unknown> {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a failure, but the call succeeded');
}

/** Byte-wise (lexical) order of two names, as storage keys sort. */
function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** Every byte value 0..255 plus sequences that are not valid UTF-8 (lone continuation, overlong, surrogate). */
const NON_UTF8 = Buffer.concat([
  Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
  Buffer.from([0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28, 0xa1, 0xf0, 0x28, 0x8c, 0xbc, 0xc0, 0xaf, 0xed, 0xa0, 0x80]),
  Buffer.from([0xff, 0xfe, 0x00, 0x00, 0xef, 0xbf, 0xbd, 0x80]),
]);

/** Paths every method must refuse with InvalidPathError. */
const INVALID_PATHS = [
  '',
  'relative',
  'a/b',
  '/a/../b',
  '/..',
  '/a/..',
  '/a//b',
  '/a/./b',
  '/.',
  '/a b',
  '/a/',
  '//',
  '/a\\b',
  '/a\nb',
  '/caf\u00e9',
  '/a/b?c',
];

/**
 * Registers the StorageDriver contract suite for one driver with vitest.
 *
 * @param name shown in the suite title (`StorageDriver contract: <name>`)
 * @param make called before every test: resolves to a driver over fresh, empty storage, an optional
 *   `cleanup` (run after the test, also when it fails) and an optional `reopen` that builds a second
 *   instance over the same storage (restart safety; omit it when content does not outlive the instance)
 * @returns nothing; registers a `describe` block (call it at the top level of a `*.test.ts` file)
 * @throws nothing itself; tests fail on any contract violation, and `afterEach` fails when the test left
 *   anything under `/`
 */
export function driverContract(name: string, make: () => Promise<DriverFixture>): void {
  describe(`StorageDriver contract: ${name}`, () => {
    let fixture: DriverFixture;
    let d: StorageDriver;
    /** A second instance over the same storage, or the same instance when the driver cannot restart. */
    const reopened = async (): Promise<StorageDriver> => (fixture.reopen ? fixture.reopen() : d);

    beforeEach(async () => {
      fixture = await make();
      d = fixture.driver;
      expect(await d.list('/'), 'make() must give an empty driver').toEqual([]);
    });

    afterEach(async () => {
      try {
        expect(await d.list('/'), 'the test (or the driver) left objects behind').toEqual([]);
      } finally {
        await fixture.cleanup?.();
      }
    });

    describe('round trips', () => {
      it('round-trips 0 bytes through putContent, append, getContent, reader and stat', async () => {
        await d.putContent('/t/empty', Buffer.alloc(0));
        expect((await d.getContent('/t/empty')).length).toBe(0);
        expect((await collect(await d.reader('/t/empty'))).length).toBe(0);
        expect((await collect(await d.reader('/t/empty', { offset: 0, length: 10 }))).length).toBe(0);
        expect(await d.stat('/t/empty')).toMatchObject({ path: '/t/empty', size: 0, isDir: false });

        await d.putContent('/t/empty-string', '');
        expect((await d.getContent('/t/empty-string')).length).toBe(0);

        expect(await d.append('/t/session/data', streamOf(), { offset: 0 })).toBe(0);
        await d.commitAppended('/t/session/data', '/t/appended', await d.appendedState('/t/session/data'));
        expect(await d.stat('/t/appended')).toMatchObject({ size: 0, isDir: false });
        expect((await d.getContent('/t/appended')).length).toBe(0);
        expect(await d.list('/t')).toEqual(['appended', 'empty', 'empty-string']);

        await d.delete('/t');
      });

      it('round-trips non-UTF-8 bytes and UTF-8 strings byte for byte', async () => {
        await d.putContent('/t/binary', NON_UTF8);
        expect((await d.getContent('/t/binary')).equals(NON_UTF8)).toBe(true);
        expect((await collect(await d.reader('/t/binary'))).equals(NON_UTF8)).toBe(true);
        expect((await d.stat('/t/binary')).size).toBe(NON_UTF8.length);

        const appended = await d.append('/t/session/data', streamOf(NON_UTF8.subarray(0, 100), NON_UTF8.subarray(100)), { offset: 0 });
        expect(appended).toBe(NON_UTF8.length);
        await d.commitAppended('/t/session/data', '/t/streamed', await d.appendedState('/t/session/data'));
        expect((await d.getContent('/t/streamed')).equals(NON_UTF8)).toBe(true);

        const text = 'h\u00e9llo \u2603 \u{1f433} wharf';
        await d.putContent('/t/text', text);
        const stored = await d.getContent('/t/text');
        expect(stored.equals(Buffer.from(text, 'utf8'))).toBe(true);
        expect((await d.stat('/t/text')).size).toBe(Buffer.byteLength(text, 'utf8'));

        await d.delete('/t');
      });

      it('streams 32 MiB through append and reader, whole and ranged, without corruption (sha256)', async () => {
        const chunkSize = MiB + 7; // not a power of two, so chunk and buffer boundaries never line up
        const chunks = 32;
        const total = chunkSize * chunks;
        const base = randomBytes(chunkSize);
        const chunk = (i: number): Buffer => {
          const c = Buffer.from(base);
          c.writeUInt32BE(i, 0);
          c.writeUInt32BE(i ^ 0x5a5a5a5a, chunkSize >> 1);
          return c;
        };
        /** Bytes [offset, offset+length) of the generated stream, rebuilt from the chunk generator. */
        const expectedRange = (offset: number, length: number): Buffer => {
          const parts: Buffer[] = [];
          for (let i = Math.floor(offset / chunkSize); i < chunks && i * chunkSize < offset + length; i++) {
            const from = Math.max(offset - i * chunkSize, 0);
            const to = Math.min(offset + length - i * chunkSize, chunkSize);
            parts.push(chunk(i).subarray(from, to));
          }
          return Buffer.concat(parts);
        };
        const want = createHash('sha256');
        async function* generate(): AsyncGenerator<Buffer> {
          for (let i = 0; i < chunks; i++) {
            const c = chunk(i);
            want.update(c);
            yield c;
          }
        }

        expect(await d.append('/t/session/data', Readable.from(generate()), { offset: 0 })).toBe(total);
        await d.commitAppended('/t/session/data', '/t/large', await d.appendedState('/t/session/data'));
        const wantHex = want.digest('hex');
        expect((await d.stat('/t/large')).size).toBe(total);
        expect(await digestStream(await d.reader('/t/large'))).toEqual({ sha256: wantHex, size: total });

        const offset = 5 * MiB + 3;
        const length = 3 * MiB + 11;
        const ranged = await collect(await d.reader('/t/large', { offset, length }));
        expect(ranged.length).toBe(length);
        expect(ranged.equals(expectedRange(offset, length))).toBe(true);

        const tail = await collect(await d.reader('/t/large', { offset: total - 100 }));
        expect(tail.equals(expectedRange(total - 100, 100))).toBe(true);

        await d.delete('/t');
      });
    });

    describe('putContent', () => {
      it('replaces the whole previous content, shorter or longer', async () => {
        await d.putContent('/t/obj', Buffer.alloc(1000, 1));
        await d.putContent('/t/obj', Buffer.from('short'));
        expect((await d.getContent('/t/obj')).toString()).toBe('short');
        expect((await d.stat('/t/obj')).size).toBe(5);
        await d.putContent('/t/obj', Buffer.alloc(3000, 2));
        expect((await d.getContent('/t/obj')).equals(Buffer.alloc(3000, 2))).toBe(true);
        expect(await d.list('/t')).toEqual(['obj']);
        await d.delete('/t');
      });

      it('stores a copy: mutating the given or the returned buffer changes nothing stored', async () => {
        const given = Buffer.from('original');
        await d.putContent('/t/obj', given);
        given.fill(0);
        const got = await d.getContent('/t/obj');
        expect(got.toString()).toBe('original');
        got.fill(0);
        expect((await d.getContent('/t/obj')).toString()).toBe('original');
        expect((await collect(await d.reader('/t/obj'))).toString()).toBe('original');
        await d.delete('/t');
      });

      it('is atomic: concurrent writers end with exactly one whole content, readers never see a part', async () => {
        const writers = 12;
        const sizeOf = (id: number): number => 96 * KiB + id * 4099;
        const contents = new Map<number, Buffer>();
        for (let id = 0; id < writers; id++) contents.set(id, Buffer.alloc(sizeOf(id), id));
        contents.set(255, Buffer.alloc(200 * KiB, 255)); // the initial content
        const isWhole = (b: Buffer): boolean => b.length > 0 && contents.get(b[0]!)?.equals(b) === true;

        await d.putContent('/t/obj', contents.get(255)!);
        let writing = true;
        const torn: string[] = [];
        let reads = 0;
        const readLoop = async (useStream: boolean): Promise<void> => {
          do {
            let b: Buffer;
            try {
              b = useStream ? await collect(await d.reader('/t/obj')) : await d.getContent('/t/obj');
            } catch (err) {
              if (!fixture.storeWritesInPlace) throw err;
              continue; // the test store served a write in progress and cut the body short
            }
            reads++;
            if (!isWhole(b)) torn.push(`${b.length} bytes starting with ${b[0]}`);
            await nextTurn();
          } while (writing);
        };
        const readers = [readLoop(false), readLoop(true), readLoop(false), readLoop(true)].map(settle);
        const rounds = 4; // each writer rewrites its content a few times, to give a torn read its chances
        const written = await settle(
          Promise.all(
            Array.from({ length: writers }, async (_, id) => {
              for (let r = 0; r < rounds; r++) await d.putContent('/t/obj', contents.get(id)!);
            }),
          ),
        );
        writing = false;
        for (const r of await Promise.all(readers)) expect(r).toMatchObject({ ok: true });
        expect(written).toMatchObject({ ok: true });

        if (!fixture.storeWritesInPlace) {
          expect(torn).toEqual([]);
          expect(reads).toBeGreaterThanOrEqual(4);
        }
        const final = await d.getContent('/t/obj');
        expect(isWhole(final)).toBe(true);
        expect(final[0]).toBeLessThan(writers);
        expect((await d.stat('/t/obj')).size).toBe(final.length);
        expect(await d.list('/t'), 'no temporary objects may show').toEqual(['obj']);
        await d.delete('/t');
      });
    });

    describe('reader', () => {
      const content = Buffer.from(Array.from({ length: 100 }, (_, i) => i));

      it('starts at offset and stops after length bytes', async () => {
        await d.putContent('/t/obj', content);
        expect((await collect(await d.reader('/t/obj'))).equals(content)).toBe(true);
        expect((await collect(await d.reader('/t/obj', { offset: 0 }))).equals(content)).toBe(true);
        expect((await collect(await d.reader('/t/obj', { offset: 10 }))).equals(content.subarray(10))).toBe(true);
        expect((await collect(await d.reader('/t/obj', { offset: 10, length: 5 }))).equals(content.subarray(10, 15))).toBe(
          true,
        );
        expect((await collect(await d.reader('/t/obj', { offset: 0, length: 1 }))).equals(content.subarray(0, 1))).toBe(true);
        expect((await collect(await d.reader('/t/obj', { offset: 99, length: 1 }))).equals(content.subarray(99))).toBe(true);
        expect((await collect(await d.reader('/t/obj', { offset: 90, length: 50 }))).equals(content.subarray(90))).toBe(true);
        expect((await collect(await d.reader('/t/obj', { offset: 50, length: 0 }))).length).toBe(0);
        await d.delete('/t');
      });

      it('gives an empty stream at offset == size, and throws InvalidOffsetError past the end', async () => {
        await d.putContent('/t/obj', content);
        await d.putContent('/t/empty', Buffer.alloc(0));
        expect((await collect(await d.reader('/t/obj', { offset: 100 }))).length).toBe(0);
        expect((await collect(await d.reader('/t/obj', { offset: 100, length: 10 }))).length).toBe(0);
        expect((await collect(await d.reader('/t/empty', { offset: 0 }))).length).toBe(0);

        const past = await failureOf(() => d.reader('/t/obj', { offset: 101 }));
        expect(past).toBeInstanceOf(InvalidOffsetError);
        expect(past).toMatchObject({ path: '/t/obj', offset: 101 });
        expect(await failureOf(() => d.reader('/t/obj', { offset: 1000, length: 1 }))).toBeInstanceOf(InvalidOffsetError);
        expect(await failureOf(() => d.reader('/t/empty', { offset: 1 }))).toBeInstanceOf(InvalidOffsetError);
        await d.delete('/t');
      });
    });

    describe('missing paths and stat', () => {
      it('stat, getContent and reader of a missing path throw PathNotFoundError', async () => {
        await d.putContent('/t/file', 'x');
        for (const path of ['/nothing', '/t/nothing', '/t/file/below-a-file', '/t/fil', '/t/file2']) {
          const errors = [
            await failureOf(() => d.stat(path)),
            await failureOf(() => d.getContent(path)),
            await failureOf(() => d.reader(path)),
            await failureOf(() => d.reader(path, { offset: 0, length: 1 })),
          ];
          for (const err of errors) {
            expect(err, path).toBeInstanceOf(PathNotFoundError);
            expect(err, path).toMatchObject({ path });
          }
        }
        await d.delete('/t');
      });

      it('getContent and reader of a directory throw PathNotFoundError (a directory is not an object)', async () => {
        await d.putContent('/t/dir/obj', 'x');
        expect(await failureOf(() => d.getContent('/t/dir'))).toBeInstanceOf(PathNotFoundError);
        expect(await failureOf(() => d.reader('/t/dir'))).toBeInstanceOf(PathNotFoundError);
        expect(await failureOf(() => d.reader('/t/dir', { offset: 0, length: 1 }))).toBeInstanceOf(PathNotFoundError);
        await d.delete('/t');
      });

      it('stat reports a file (size, modTime) and a directory (isDir)', async () => {
        const before = Date.now();
        await d.putContent('/t/dir/file', Buffer.alloc(1234, 7));
        await d.putContent('/t/dir/sub/deeper', 'y');
        const after = Date.now();

        const file = await d.stat('/t/dir/file');
        expect(file).toMatchObject({ path: '/t/dir/file', size: 1234, isDir: false });
        expect(file.modTime).toBeInstanceOf(Date);
        // File systems stamp times from a coarse clock: allow a second either way.
        expect(file.modTime.getTime()).toBeGreaterThanOrEqual(before - 1000);
        expect(file.modTime.getTime()).toBeLessThanOrEqual(after + 1000);

        for (const path of ['/t', '/t/dir', '/t/dir/sub']) {
          const dir = await d.stat(path);
          expect(dir, path).toMatchObject({ path, size: 0, isDir: true });
          expect(dir.modTime).toBeInstanceOf(Date);
          expect(Number.isNaN(dir.modTime.getTime())).toBe(false);
        }

        await d.delete('/t');
      });

      it('a directory exists only while it holds an object', async () => {
        await d.putContent('/t/a/b/c', 'x');
        await d.putContent('/t/keep', 'k');
        expect((await d.stat('/t/a/b')).isDir).toBe(true);

        await d.delete('/t/a/b/c');
        for (const path of ['/t/a/b', '/t/a']) {
          expect(await failureOf(() => d.stat(path)), path).toBeInstanceOf(PathNotFoundError);
        }
        expect(await d.list('/t')).toEqual(['keep']);

        await d.putContent('/t/m/n/o', 'y');
        await d.move('/t/m/n/o', '/t/moved');
        expect(await failureOf(() => d.stat('/t/m'))).toBeInstanceOf(PathNotFoundError);
        expect(await d.list('/t')).toEqual(['keep', 'moved']);

        await d.delete('/t/keep');
        await d.delete('/t/moved');
        expect(await failureOf(() => d.stat('/t'))).toBeInstanceOf(PathNotFoundError);
      });
    });

    describe('append (chunked objects)', () => {
      it('appends at the offset, returns the bytes each call appended, reads back and commits exactly them', async () => {
        const a = Buffer.from('first chunk;');
        const b = new Uint8Array([0xff, 0x00, 0xfe]);
        expect(await d.append('/t/session/data', streamOf(a, b), { offset: 0 })).toBe(a.length + b.length);
        expect((await d.appendedState('/t/session/data')).size).toBe(a.length + b.length);

        const c = randomBytes(300 * KiB + 1);
        expect(await appendAtEnd(d, '/t/session/data', streamOf(c.subarray(0, 1), c.subarray(1)))).toBe(c.length);
        const all = Buffer.concat([a, b, c]);
        expect(await appendAtEnd(d, '/t/session/data', streamOf())).toBe(0);
        const state = await d.appendedState('/t/session/data');
        expect(state.size).toBe(all.length);
        expect((await collect(await d.appendedReader('/t/session/data', state))).equals(all)).toBe(true);

        await d.putContent('/t/blob', 'replaced by the commit');
        await d.commitAppended('/t/session/data', '/t/blob', state);
        expect((await d.getContent('/t/blob')).equals(all)).toBe(true);
        expect(await d.stat('/t/blob')).toMatchObject({ size: all.length, isDir: false });
        expect((await d.appendedState('/t/session/data')).size).toBe(0);
        expect(await d.list('/t')).toEqual(['blob']);
        await d.delete('/t');
      });

      it('refuses an append at any offset but the current size with InvalidOffsetError, appending nothing', async () => {
        const err = await failureOf(() => d.append('/t/session/data', streamOf(Buffer.from('x')), { offset: 1 }));
        expect(err).toBeInstanceOf(InvalidOffsetError);
        expect(err).toMatchObject({ path: '/t/session/data', offset: 1 });
        expect((await d.appendedState('/t/session/data')).size).toBe(0);
        await d.append('/t/session/data', streamOf(Buffer.alloc(10, 1)), { offset: 0 });
        for (const offset of [0, 5, 9, 11, 100]) {
          const e = await failureOf(() => d.append('/t/session/data', streamOf(Buffer.from('x')), { offset }));
          expect(e, `offset ${offset}`).toBeInstanceOf(InvalidOffsetError);
        }
        const state = await d.appendedState('/t/session/data');
        expect(state.size).toBe(10);
        expect((await collect(await d.appendedReader('/t/session/data', state))).equals(Buffer.alloc(10, 1))).toBe(true);
        await d.delete('/t');
        expect(await d.list('/')).toEqual([]);
      });

      it('commits many appends of mixed sizes (under and over 5 MiB) into one object, byte for byte', async () => {
        // The first append alone can be a part of its own (S3: a server-side part copy where the store
        // has one), the next ones must be joined into parts.
        const sizes = [6 * MiB + 5, 100 * KiB, 3 * MiB + 1, 1, 2 * MiB, 5 * MiB, 700 * KiB + 3];
        const chunks = sizes.map((n) => randomBytes(n));
        for (const c of chunks) await appendAtEnd(d, '/t/session/data', streamOf(c.subarray(0, 1000), c.subarray(1000)));
        const all = Buffer.concat(chunks);
        const state = await d.appendedState('/t/session/data');
        expect(state.size).toBe(all.length);
        const want = createHash('sha256').update(all).digest('hex');
        // a driver that sent bytes into a store-side upload reads them only at the commit (S3 multipart)
        const read = await settle(d.appendedReader('/t/session/data', state));
        if (read.ok) expect(await digestStream(read.value)).toEqual({ sha256: want, size: all.length });
        else expect(read.error).toBeInstanceOf(AppendedUnreadableError);
        let verified: { sha256: string; size: number } | undefined;
        await d.commitAppended('/t/session/data', '/t/blob', state, { verify: async (bytes) => void (verified = await digestStream(bytes)) });
        expect(verified).toEqual({ sha256: want, size: all.length });
        expect((await d.stat('/t/blob')).size).toBe(all.length);
        expect(await digestStream(await d.reader('/t/blob'))).toEqual({ sha256: want, size: all.length });
        const offset = sizes[0]! - 10; // a range across the first three appends
        const length = sizes[1]! + 20 + MiB;
        expect((await collect(await d.reader('/t/blob', { offset, length }))).equals(all.subarray(offset, offset + length))).toBe(true);
        expect(await d.list('/t')).toEqual(['blob']);
        await d.delete('/t');
      });

      it('makes nothing visible when the commit\'s verify throws, and throws its error', async () => {
        const bytes = randomBytes(6 * MiB + 3);
        await d.append('/t/session/data', streamOf(bytes.subarray(0, 1000), bytes.subarray(1000)), { offset: 0 });
        const state = await d.appendedState('/t/session/data');
        let seen = 0;
        const refused = await failureOf(() =>
          d.commitAppended('/t/session/data', '/t/blob', state, {
            verify: async (stream) => {
              for await (const chunk of stream) seen += (chunk as Buffer).length;
              throw new Error('refused');
            },
          }),
        );
        expect(refused).toMatchObject({ message: 'refused' });
        expect(seen).toBe(bytes.length);
        expect(await failureOf(() => d.stat('/t/blob'))).toBeInstanceOf(PathNotFoundError);
        await d.delete('/t');
        expect(await d.list('/')).toEqual([]);
      });

      it('commits nothing appended as an empty object', async () => {
        const state = await d.appendedState('/t/session/data');
        expect(state.size).toBe(0);
        expect((await collect(await d.appendedReader('/t/session/data', state))).length).toBe(0);
        await d.commitAppended('/t/session/data', '/t/blob', state);
        expect(await d.stat('/t/blob')).toMatchObject({ size: 0, isDir: false });
        expect(await d.list('/t')).toEqual(['blob']);
        await d.delete('/t');
      });

      it('refuses to commit a state the object no longer holds (it grew since), and commits nothing', async () => {
        await d.append('/t/session/data', streamOf(Buffer.from('first')), { offset: 0 });
        const stale = await d.appendedState('/t/session/data');
        await d.append('/t/session/data', streamOf(Buffer.from('+second')), { offset: stale.size });
        expect(await failureOf(() => d.commitAppended('/t/session/data', '/t/blob', stale))).toBeInstanceOf(InvalidOffsetError);
        expect(await failureOf(() => d.stat('/t/blob'))).toBeInstanceOf(PathNotFoundError);
        const fresh = await d.appendedState('/t/session/data');
        await d.commitAppended('/t/session/data', '/t/blob', fresh);
        expect((await d.getContent('/t/blob')).toString()).toBe('first+second');
        await d.delete('/t');
      });

      it('resumes at the stored size from a fresh driver instance on the same storage', async () => {
        const first = randomBytes(64 * KiB + 5);
        expect(await d.append('/t/session/data', streamOf(first), { offset: 0 })).toBe(first.length);

        const again = await reopened();
        const { size } = await again.appendedState('/t/session/data');
        expect(size).toBe(first.length);
        const second = randomBytes(3 * KiB);
        expect(await again.append('/t/session/data', streamOf(second), { offset: size })).toBe(second.length);

        const all = Buffer.concat([first, second]);
        const state = await d.appendedState('/t/session/data');
        expect(state.size).toBe(all.length);
        expect((await collect(await d.appendedReader('/t/session/data', state))).equals(all)).toBe(true);
        await again.commitAppended('/t/session/data', '/t/blob', await again.appendedState('/t/session/data'));
        expect((await d.getContent('/t/blob')).equals(all)).toBe(true);
        await again.delete('/t');
        expect(await d.list('/')).toEqual([]);
      });

      it('with an already aborted signal rejects, appends nothing and leaves no unhandled error', async () => {
        const trap = trapUnhandled();
        await d.append('/t/existing', streamOf(Buffer.from('kept')), { offset: 0 });
        const ac = new AbortController();
        ac.abort();

        const onExisting = await settle(d.append('/t/existing', streamOf(Buffer.from('never')), { offset: 4, signal: ac.signal }));
        expect(onExisting).toMatchObject({ ok: false, error: { name: 'AbortError' } });
        expect(await contentOf(d, '/t/existing')).toBe('kept');

        const onMissing = await settle(d.append('/t/missing', streamOf(Buffer.from('never')), { offset: 0, signal: ac.signal }));
        expect(onMissing).toMatchObject({ ok: false, error: { name: 'AbortError' } });
        expect((await d.appendedState('/t/missing')).size).toBe(0);

        expect(await trap.stop()).toEqual([]);
        await d.delete('/t');
      });

      it('aborted while the source stalls: rejects promptly, keeps a prefix, and resumes from the state', async () => {
        const trap = trapUnhandled();
        const prior = Buffer.from('prior bytes|');
        await d.append('/t/session/data', streamOf(prior), { offset: 0 });

        const source = new PassThrough();
        const ac = new AbortController();
        const appending = settle(d.append('/t/session/data', source, { offset: prior.length, signal: ac.signal }));
        const sent = randomBytes(64 * KiB);
        source.write(sent);
        await until(async () => source.readableLength === 0, 5000, 'the driver to take the chunk');
        ac.abort(); // the source sends nothing more: only the signal can end this append

        const result = await within(appending, 5000, 'append after abort');
        expect(result).toMatchObject({ ok: false, error: { name: 'AbortError' } });
        const state = await d.appendedState('/t/session/data');
        expect(state.size).toBeGreaterThanOrEqual(prior.length);
        expect(state.size).toBeLessThanOrEqual(prior.length + sent.length);
        const all = Buffer.concat([prior, sent]);
        expect((await collect(await d.appendedReader('/t/session/data', state))).equals(all.subarray(0, state.size))).toBe(true);

        const rest = Buffer.concat([all.subarray(state.size), Buffer.from('|resumed')]);
        expect(await d.append('/t/session/data', streamOf(rest), { offset: state.size })).toBe(rest.length);
        const after = await d.appendedState('/t/session/data');
        expect((await collect(await d.appendedReader('/t/session/data', after))).equals(Buffer.concat([all, Buffer.from('|resumed')]))).toBe(true);
        expect(await trap.stop()).toEqual([]);
        await d.delete('/t');
      });

      it('whose source errors part way rejects with that error, keeps a prefix, and resumes from its size', async () => {
        const trap = trapUnhandled();
        const prior = Buffer.from('prior|');
        await d.append('/t/session/data', streamOf(prior), { offset: 0 });
        const sent = [randomBytes(40 * KiB), randomBytes(24 * KiB + 3)];
        const sentAll = Buffer.concat(sent);
        async function* breaking(): AsyncGenerator<Buffer> {
          for (const c of sent) {
            yield c;
            await nextTurn();
          }
          throw new Error('source broke');
        }

        const result = await within(settle(d.append('/t/session/data', Readable.from(breaking()), { offset: prior.length })), 5000, 'append');
        expect(result).toMatchObject({ ok: false, error: { message: 'source broke' } });
        const state = await d.appendedState('/t/session/data');
        expect(state.size).toBeGreaterThanOrEqual(prior.length);
        expect(state.size).toBeLessThanOrEqual(prior.length + sentAll.length);
        const kept = await collect(await d.appendedReader('/t/session/data', state));
        expect(kept.equals(Buffer.concat([prior, sentAll.subarray(0, state.size - prior.length)]))).toBe(true);

        // The size says where to resume: send the rest, and the object is whole.
        const rest = sentAll.subarray(state.size - prior.length);
        expect(await d.append('/t/session/data', streamOf(rest), { offset: state.size })).toBe(rest.length);
        await d.commitAppended('/t/session/data', '/t/blob', await d.appendedState('/t/session/data'));
        expect((await d.getContent('/t/blob')).equals(Buffer.concat([prior, sentAll]))).toBe(true);
        expect(await trap.stop()).toEqual([]);
        await d.delete('/t');
      });

      it('concurrent appends to different objects are independent, even when one of them fails', async () => {
        const objects = 6;
        const chunkCount = 16;
        const data = Array.from({ length: objects }, () =>
          Array.from({ length: chunkCount }, (_, i) => randomBytes(4 * KiB + i)),
        );
        async function* interleaved(chunks: Buffer[], failAt?: number): AsyncGenerator<Buffer> {
          for (const [i, c] of chunks.entries()) {
            if (i === failAt) throw new Error('this source fails');
            yield c;
            await nextTurn();
          }
        }
        const results = await Promise.all(
          data.map((chunks, o) =>
            settle(d.append(`/t/s${o}/data`, Readable.from(interleaved(chunks, o === 2 ? 5 : undefined)), { offset: 0 })),
          ),
        );
        for (const [o, chunks] of data.entries()) {
          const want = Buffer.concat(chunks);
          const state = await d.appendedState(`/t/s${o}/data`);
          const got = await collect(await d.appendedReader(`/t/s${o}/data`, state));
          if (o === 2) {
            expect(results[o]).toMatchObject({ ok: false, error: { message: 'this source fails' } });
            expect(got.equals(want.subarray(0, got.length))).toBe(true);
            expect(got.length).toBeLessThanOrEqual(Buffer.concat(chunks.slice(0, 5)).length);
          } else {
            expect(results[o]).toEqual({ ok: true, value: want.length });
            expect(got.equals(want)).toBe(true);
          }
        }
        await d.delete('/t');
      });

      it('of concurrent appends at the same offset at most one succeeds, and the object holds exactly its bytes', async () => {
        const prior = Buffer.from('prior|');
        await d.append('/t/session/data', streamOf(prior), { offset: 0 });
        // Writers through a second instance over the same store where the driver guards appends across instances.
        const other = fixture.appendsExclusiveAcrossInstances ? await reopened() : d;
        const contents = Array.from({ length: 4 }, (_, w) => Array.from({ length: 8 }, (_, i) => Buffer.alloc(8 * KiB + w * 100 + i, w + 1)));
        async function* slowly(chunks: Buffer[]): AsyncGenerator<Buffer> {
          for (const c of chunks) {
            yield c;
            await nextTurn();
          }
        }
        const results = await Promise.all(
          contents.map((chunks, w) =>
            settle((w % 2 === 0 ? d : other).append('/t/session/data', Readable.from(slowly(chunks)), { offset: prior.length })),
          ),
        );
        const winners = results.flatMap((r, w) => (r.ok ? [w] : []));
        expect(winners.length).toBeLessThanOrEqual(1);
        for (const r of results) if (!r.ok) expect(r.error).toBeInstanceOf(InvalidOffsetError);
        const want = Buffer.concat([prior, ...(winners.length === 1 ? contents[winners[0]!]! : [])]);
        const state = await d.appendedState('/t/session/data');
        expect(state.size).toBe(want.length);
        expect((await collect(await d.appendedReader('/t/session/data', state))).equals(want)).toBe(true);

        expect(await d.append('/t/session/data', streamOf(Buffer.from('|next')), { offset: want.length })).toBe(5);
        await d.commitAppended('/t/session/data', '/t/blob', await d.appendedState('/t/session/data'));
        expect((await d.getContent('/t/blob')).equals(Buffer.concat([want, Buffer.from('|next')]))).toBe(true);
        await d.delete('/t');
      });
    });

    describe('move', () => {
      it('moves a file, creating the destination folders, and the source is gone', async () => {
        await d.putContent('/t/src/file', NON_UTF8);
        await d.putContent('/t/src/sibling', 's');
        await d.move('/t/src/file', '/t/dst/deep/er/file');
        expect((await d.getContent('/t/dst/deep/er/file')).equals(NON_UTF8)).toBe(true);
        expect((await d.stat('/t/dst/deep/er/file')).size).toBe(NON_UTF8.length);
        expect(await failureOf(() => d.stat('/t/src/file'))).toBeInstanceOf(PathNotFoundError);
        expect(await d.list('/t/src')).toEqual(['sibling']);
        await d.delete('/t');
      });

      it('moves a directory with everything in it', async () => {
        await d.putContent('/t/src/a', 'A');
        await d.putContent('/t/src/sub/b', 'B');
        await d.putContent('/t/src/sub/deeper/c', 'C');
        await d.putContent('/t/srcsibling/x', 'X');
        await d.move('/t/src', '/t/moved/here');
        expect(await d.list('/t/moved/here')).toEqual(['a', 'sub']);
        expect((await d.getContent('/t/moved/here/a')).toString()).toBe('A');
        expect((await d.getContent('/t/moved/here/sub/b')).toString()).toBe('B');
        expect((await d.getContent('/t/moved/here/sub/deeper/c')).toString()).toBe('C');
        expect(await failureOf(() => d.stat('/t/src'))).toBeInstanceOf(PathNotFoundError);
        expect(await d.list('/t')).toEqual(['moved', 'srcsibling']);
        expect((await d.getContent('/t/srcsibling/x')).toString()).toBe('X');
        await d.delete('/t');
      });

      it('replaces what is at the destination: a file or a folder, by a file or a folder', async () => {
        await d.putContent('/t/new', 'new content');
        await d.putContent('/t/old', 'old content that is longer');
        await d.move('/t/new', '/t/old');
        expect((await d.getContent('/t/old')).toString()).toBe('new content');
        expect(await d.list('/t')).toEqual(['old']);

        await d.putContent('/t/dirA/one', '1');
        await d.putContent('/t/dirA/sub/two', '2');
        await d.putContent('/t/dirB/one', 'stale');
        await d.putContent('/t/dirB/only-in-b', 'stale');
        await d.move('/t/dirA', '/t/dirB');
        expect(await d.list('/t/dirB')).toEqual(['one', 'sub']);
        expect((await d.getContent('/t/dirB/one')).toString()).toBe('1');
        expect((await d.getContent('/t/dirB/sub/two')).toString()).toBe('2');
        expect(await failureOf(() => d.stat('/t/dirA'))).toBeInstanceOf(PathNotFoundError);

        await d.putContent('/t/file', 'file over a directory');
        await d.move('/t/file', '/t/dirB');
        expect(await d.stat('/t/dirB')).toMatchObject({ isDir: false, size: 21 });
        expect(await d.list('/t/dirB')).toEqual([]);
        expect((await d.getContent('/t/dirB')).toString()).toBe('file over a directory');

        await d.putContent('/t/dirC/inside', 'dir over a file');
        await d.move('/t/dirC', '/t/dirB');
        expect((await d.stat('/t/dirB')).isDir).toBe(true);
        expect((await d.getContent('/t/dirB/inside')).toString()).toBe('dir over a file');
        expect(await d.list('/t')).toEqual(['dirB', 'old']);
        await d.delete('/t');
      });

      it('of a missing path throws PathNotFoundError and creates nothing', async () => {
        await d.putContent('/t/present', 'p');
        for (const source of ['/t/absent', '/absent/deep', '/t/present/below']) {
          const err = await failureOf(() => d.move(source, '/elsewhere/dest'));
          expect(err, source).toBeInstanceOf(PathNotFoundError);
          expect(err, source).toMatchObject({ path: source });
        }
        expect(await d.list('/')).toEqual(['t']);
        expect((await d.getContent('/t/present')).toString()).toBe('p');
        await d.delete('/t');
      });
    });

    describe('list', () => {
      it('returns the names of direct children only, in lexical order, every real name included', async () => {
        const names = ['b', 'a', '_layers', '-dash', '.hidden', '...', 'A', 'Z9', '0', 'a.b', 'a-b', 'a_b', 'ab', 'aa'];
        for (const n of names) await d.putContent(`/t/${n}`, n);
        await d.putContent('/t/dir/one', '1');
        await d.putContent('/t/dir/sub/two', '2');
        await d.putContent('/t/dir/sub/three', '3');
        await d.putContent('/t/dirx', 'file named like the folder');

        expect(await d.list('/t')).toEqual([...names, 'dir', 'dirx'].sort(byteOrder));
        expect(await d.list('/t/dir')).toEqual(['one', 'sub']);
        expect(await d.list('/t/dir/sub')).toEqual(['three', 'two']);
        expect(await d.list('/')).toEqual(['t']);
        await d.delete('/t');
      });

      it('is empty for a missing path and for a file', async () => {
        await d.putContent('/t/file', 'f');
        expect(await d.list('/missing')).toEqual([]);
        expect(await d.list('/t/missing/deeper')).toEqual([]);
        expect(await d.list('/t/file')).toEqual([]);
        expect(await d.list('/t/file/below')).toEqual([]);
        expect(await d.list('/t/fi')).toEqual([]);
        await d.delete('/t');
      });

      it('returns all of many children (1,500, or several list pages), in lexical order', async () => {
        const names = Array.from({ length: manyChildren(fixture) }, (_, i) => `k${i}`);
        await mapLimit(names, 32, (n) => d.putContent(`/t/many/${n}`, n));
        await d.putContent('/t/many/sub/nested', 'n'); // a folder among the objects, listed once
        const listed = await d.list('/t/many');
        expect(listed.length).toBe(names.length + 1);
        expect(listed).toEqual([...names, 'sub'].sort(byteOrder));
        expect(listed.slice(0, 4)).toEqual(['k0', 'k1', 'k10', 'k100']);
        await d.delete('/t');
        expect(await d.list('/t/many')).toEqual([]);
      });
    });

    describe('delete', () => {
      it('is recursive and removes subpaths only, never a sibling with the same prefix', async () => {
        await d.putContent('/a/b', 'the file /a/b'); // replaced below by a folder of the same name
        await d.delete('/a/b');
        await d.putContent('/a/b/x', 'x');
        await d.putContent('/a/b/y/z', 'z');
        await d.putContent('/a/b/y/w/v', 'v');
        await d.putContent('/a/bc', 'sibling file');
        await d.putContent('/a/bcd/e', 'sibling folder');
        await d.putContent('/a/b.d', 'dotted sibling');
        await d.putContent('/a/b-', 'dashed sibling');
        await d.putContent('/ab/b/x', 'other top-level');

        await d.delete('/a/b');
        for (const gone of ['/a/b', '/a/b/x', '/a/b/y', '/a/b/y/z', '/a/b/y/w/v']) {
          expect(await failureOf(() => d.stat(gone)), gone).toBeInstanceOf(PathNotFoundError);
        }
        expect(await d.list('/a')).toEqual(['b-', 'b.d', 'bc', 'bcd']);
        expect((await d.getContent('/a/bc')).toString()).toBe('sibling file');
        expect((await d.getContent('/a/bcd/e')).toString()).toBe('sibling folder');
        expect((await d.getContent('/a/b.d')).toString()).toBe('dotted sibling');
        expect((await d.getContent('/a/b-')).toString()).toBe('dashed sibling');
        expect((await d.getContent('/ab/b/x')).toString()).toBe('other top-level');

        await d.delete('/a/bc'); // a single object
        expect(await d.list('/a')).toEqual(['b-', 'b.d', 'bcd']);
        await d.delete('/a');
        expect(await d.list('/')).toEqual(['ab']);
        await d.delete('/ab');
      });

      it('that empties a folder never breaks a concurrent write into the same folder', async () => {
        // Every loop writes its own objects into ONE shared folder and deletes them again, so the
        // folder keeps emptying (and, on disk, vanishing) under the other loops' writes: a push racing
        // a garbage collection.
        const drv = d; // loops still running after a failure must not touch the next test's driver
        const loop = async (own: string): Promise<void> => {
          for (let i = 0; i < (fixture.raceRounds ?? 50); i++) {
            await drv.putContent(`/t/shared/${own}`, `${own}${i}`);
            expect((await drv.getContent(`/t/shared/${own}`)).toString()).toBe(`${own}${i}`);
            await drv.delete(`/t/shared/${own}`);
            expect(await drv.append(`/t/shared/${own}/data`, streamOf(Buffer.from(own)), { offset: 0 })).toBe(own.length);
            await drv.commitAppended(`/t/shared/${own}/data`, `/t/shared/${own}-committed`, await drv.appendedState(`/t/shared/${own}/data`));
            await drv.move(`/t/shared/${own}-committed`, `/t/shared/${own}-moved`);
            await drv.delete(`/t/shared/${own}-moved`);
          }
        };
        const results = await Promise.allSettled(['a', 'b', 'c', 'd'].map(loop));
        expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
        expect(await drv.list('/t')).toEqual([]);
      });

      it('of a missing path does not throw', async () => {
        await d.putContent('/t/file', 'f');
        await d.delete('/missing');
        await d.delete('/t/missing/deeper');
        await d.delete('/t/file/below-a-file');
        await d.delete('/t/fi');
        expect((await d.getContent('/t/file')).toString()).toBe('f');
        await d.delete('/t');
        await d.delete('/t');
      });
    });

    describe('invalid paths', () => {
      it.each(INVALID_PATHS.map((p) => [JSON.stringify(p), p]))('%s throws InvalidPathError on every method', async (_, bad) => {
        await d.putContent('/t/ok', 'ok');
        const calls: [string, () => Promise<unknown>][] = [
          ['stat', () => d.stat(bad)],
          ['getContent', () => d.getContent(bad)],
          ['putContent', () => d.putContent(bad, 'x')],
          ['reader', () => d.reader(bad)],
          ['reader with range', () => d.reader(bad, { offset: 0, length: 1 })],
          ['append', () => d.append(bad, streamOf(Buffer.from('x')), { offset: 0 })],
          ['appendedState', () => d.appendedState(bad)],
          ['appendedReader', () => d.appendedReader(bad, { size: 0, token: '' })],
          ['commitAppended from', () => d.commitAppended(bad, '/t/committed', { size: 0, token: '' })],
          ['commitAppended to', () => d.commitAppended('/t/none', bad, { size: 0, token: '' })],
          ['move from', () => d.move(bad, '/t/moved')],
          ['move to', () => d.move('/t/ok', bad)],
          ['list', () => d.list(bad)],
          ['delete', () => d.delete(bad)],
        ];
        for (const [method, call] of calls) {
          const err = await failureOf(call);
          expect(err, method).toBeInstanceOf(InvalidPathError);
          expect(err, method).toMatchObject({ path: bad });
        }
        expect(await d.list('/')).toEqual(['t']);
        expect(await d.list('/t')).toEqual(['ok']);
        expect((await d.getContent('/t/ok')).toString()).toBe('ok');
        await d.delete('/t');
      });
    });
  });
}
