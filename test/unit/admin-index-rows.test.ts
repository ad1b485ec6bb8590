/**
 * A start from a snapshot (src/registry/admin-index/admin-index.ts): the list of repositories and the
 * storage totals answer from the snapshot's rows before the rest of it is read, when no process
 * changed anything since the snapshot; with a journal entry since, they wait for the whole index
 * and the journal's changes (exact across a restart).
 */
import { createHash } from 'node:crypto';
import { PassThrough, type Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { Digest } from '../../src/oci/digest.js';
import type { RepositoryName } from '../../src/oci/reference.js';
import { AdminIndex } from '../../src/registry/admin-index/admin-index.js';
import { writeSnapshot } from '../../src/registry/admin-index/snapshot.js';
import { IndexState } from '../../src/registry/admin-index/state.js';
import { DriverDecorator } from '../../src/storage/driver-decorator.js';
import type { ReadOptions, ReadRange } from '../../src/storage/driver.js';
import { MemoryDriver } from '../../src/storage/memory.js';
import * as layout from '../../src/storage/layout.js';

const digest = (s: string): Digest => `sha256:${createHash('sha256').update(s).digest('hex')}` as Digest;

/** A driver decorator with a gate: {@link released} resolves once {@link release} is called. */
class Gated extends DriverDecorator {
  #release: () => void = () => undefined;
  protected readonly released = new Promise<void>((resolve) => (this.#release = resolve));

  release(): void {
    this.#release();
  }
}

/** A driver whose snapshot stream stops after the header and the rows until {@link release}. */
class HeldSnapshot extends Gated {
  override async reader(path: string, range?: ReadRange): Promise<Readable> {
    const inner = await this.inner.reader(path, range);
    if (path !== layout.indexSnapshot()) return inner;
    const chunks: Buffer[] = [];
    for await (const c of inner) chunks.push(c as Buffer);
    const whole = Buffer.concat(chunks);
    const headerEnd = whole.indexOf(10) + 1;
    const rowsEnd = headerEnd + (JSON.parse(whole.subarray(0, headerEnd).toString('utf8')) as { rowsBytes: number }).rowsBytes;
    const out = new PassThrough();
    out.write(whole.subarray(0, rowsEnd));
    void this.released.then(() => out.end(whole.subarray(rowsEnd)));
    return out;
  }
}

/** A driver whose reads of the snapshot do not answer until {@link release} (a storage that hangs). */
class HungSnapshot extends Gated {
  override async reader(path: string, range?: ReadRange): Promise<Readable> {
    if (path === layout.indexSnapshot()) await this.released;
    return this.inner.reader(path, range);
  }
}

/** A driver whose listings wait for {@link release} (a walk of the registry is held). */
class HeldWalk extends Gated {
  override async list(path: string, options?: ReadOptions): Promise<string[]> {
    await this.released;
    return this.inner.list(path, options);
  }
}

async function stored(driver: MemoryDriver, asOf: number): Promise<IndexState> {
  const state = new IndexState();
  for (let r = 0; r < 30; r++) {
    const d = digest(`blob${r}`);
    state.setBlob(d, 100 + r);
    state.setBlob(digest('shared'), 7);
    state.setRepository(`team/app${r}` as RepositoryName, { tags: r % 4, manifests: r % 5, lastPush: asOf - r, refs: [d, digest('shared')] });
  }
  await writeSnapshot(driver, state, asOf);
  return state;
}

function figures(state: IndexState): unknown {
  return { stored: state.stored, totals: state.totals, rows: state.names().map((n) => [n, state.repository(n)!.tags, { ...state.bytes(state.repository(n)!) }]) };
}

const pending = (p: Promise<unknown>) => Promise.race([p.then(() => false), new Promise<boolean>((resolve) => setTimeout(() => resolve(true), 300))]);

describe('a start from a snapshot', () => {
  const indexes: AdminIndex[] = [];
  afterEach(async () => {
    for (const i of indexes.splice(0)) await i.stop();
  });

  it('answers the list from the rows before the rest is read when the journal is quiet', async () => {
    const now = Date.now();
    const driver = new MemoryDriver();
    const expected = figures(await stored(driver, now));
    const held = new HeldSnapshot(driver);
    const index = new AdminIndex(held, { pollMs: 60_000 });
    indexes.push(index);
    const rows = await index.rows();
    expect(index.status().state).toBe('building'); // the rest of the snapshot is not read yet
    expect(figures(rows)).toEqual(expected);
    held.release();
    const whole = await index.ready();
    expect(whole).not.toBe(rows);
    expect(figures(whole)).toEqual(expected);
  });

  it('rowsLoaded resolves once the rows are read, and the first list then needs no read of the storage', async () => {
    const now = Date.now();
    const driver = new MemoryDriver();
    const expected = figures(await stored(driver, now));
    const held = new HeldSnapshot(driver);
    const index = new AdminIndex(held, { pollMs: 60_000 });
    indexes.push(index);
    await index.rowsLoaded(); // the rest of the snapshot is held: resolving here means the rows alone sufficed
    expect(index.status().state).toBe('building');
    let settled: IndexState | undefined;
    void index.rows().then((rows) => (settled = rows));
    for (let i = 0; i < 50 && !settled; i++) await Promise.resolve(); // microtasks only: no stream or timer runs in between
    expect(settled && figures(settled)).toEqual(expected);
    held.release();
    await index.ready();
  });

  it('rowsLoaded gives up after its bound when the storage does not answer (the server listens anyway)', async () => {
    const driver = new MemoryDriver();
    await stored(driver, Date.now());
    const hung = new HungSnapshot(driver);
    const index = new AdminIndex(hung, { pollMs: 60_000 });
    indexes.push(index);
    try {
      expect(await pending(index.rowsLoaded(50))).toBe(false);
      expect(index.status().state).toBe('building'); // the snapshot's read is still under way
    } finally {
      hung.release();
    }
    await index.ready();
  });

  it('rowsLoaded does not wait for a walk when there is no snapshot', async () => {
    const driver = new MemoryDriver();
    const walking = new HeldWalk(driver);
    const index = new AdminIndex(walking, { pollMs: 60_000 });
    indexes.push(index);
    expect(await pending(index.rowsLoaded())).toBe(false);
    expect(index.status().state).toBe('building'); // the walk is held
    walking.release();
    await index.ready();
  });

  it('waits for the whole index when the journal changed since the snapshot', async () => {
    const now = Date.now();
    const driver = new MemoryDriver();
    await stored(driver, now - 10 * 60_000);
    const minute = Math.floor(now / 60_000);
    await driver.putContent(layout.indexJournalEntry(minute, `${String(now).padStart(13, '0')}-0badf00d-0`), `t\tteam/app1\tv9\n`);
    const held = new HeldSnapshot(driver);
    const index = new AdminIndex(held, { pollMs: 60_000 });
    indexes.push(index);
    const rows = index.rows();
    expect(await pending(rows)).toBe(true);
    held.release();
    expect(await rows).toBe(await index.ready());
  });
});
