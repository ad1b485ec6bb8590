/**
 * The admin index's snapshot (src/registry/admin-index/snapshot.ts): written and read back, the index
 * answers exactly as before (repositories' figures, storage totals, blob lookups, names in order),
 * ids left free by removals included, across several batches of repositories; it keeps working
 * after (adds and removes); a snapshot cut short, of another version or garbled is not read.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Digest } from '../../src/oci/digest.js';
import type { RepositoryName } from '../../src/oci/reference.js';
import { readSnapshot, writeSnapshot } from '../../src/registry/admin-index/snapshot.js';
import { IndexState } from '../../src/registry/admin-index/state.js';
import { MemoryDriver } from '../../src/storage/memory.js';
import * as layout from '../../src/storage/layout.js';

const digest = (s: string): Digest => `sha256:${createHash('sha256').update(s).digest('hex')}` as Digest;
const name = (i: number): RepositoryName => `team${i % 7}/app${i}` as RepositoryName;

/** 3,000 repositories of 25 blobs (two batches), some blobs shared, some removed (free ids), one repository removed. */
function sampleState(): IndexState {
  const state = new IndexState();
  for (let i = 0; i < 50; i++) state.setBlob(digest(`shared${i}`), 1000 + i);
  for (let r = 0; r < 3000; r++) {
    const refs: Digest[] = [digest(`shared${r % 50}`)];
    for (let k = 0; k < 24; k++) {
      const d = digest(`r${r}b${k}`);
      if (k !== 23) state.setBlob(d, 10 * r + k); // the last is referenced, not stored
      refs.push(d);
    }
    state.setRepository(name(r), { tags: r % 11, manifests: r % 13, lastPush: 1_700_000_000_000 + r, refs });
  }
  for (let i = 0; i < 200; i++) state.setBlob(digest(`orphan${i}`), 7);
  for (let i = 0; i < 200; i += 2) state.setBlob(digest(`orphan${i}`), undefined); // leaves free ids
  state.removeRepository(name(17));
  return state;
}

/** What the list of repositories and the storage totals read of a state (what the snapshot's rows answer). */
function rowFigures(state: IndexState): unknown {
  return {
    stored: state.stored,
    totals: state.totals,
    count: state.repositoryCount,
    repositories: state.names().map((n) => {
      const e = state.repository(n)!;
      return [n, e.tags, e.manifests, e.lastPush, { ...state.bytes(e) }];
    }),
  };
}

/** The snapshot `whole` (version 3) as version 2 wrote it: no rows part, no `stored` and `rowsBytes`. */
function asVersion2(whole: Buffer): Buffer {
  const end = whole.indexOf(10);
  const header = JSON.parse(whole.subarray(0, end).toString('utf8')) as Record<string, unknown> & { rowsBytes: number; stored: unknown };
  const rest = whole.subarray(end + 1 + header.rowsBytes);
  const { rowsBytes: _rows, stored: _stored, ...v2 } = { ...header, version: 2 };
  return Buffer.concat([Buffer.from(`${JSON.stringify(v2)}\n`, 'utf8'), rest]);
}

/** Everything the admin API reads of a state: the rows' figures, blob references and sizes. */
function figures(state: IndexState): unknown {
  return {
    rows: rowFigures(state),
    references: state.names().map((n) => state.references(state.repository(n)!, digest('shared3'))),
    sizes: [digest('shared0'), digest('r5b0'), digest('r5b23'), digest('orphan1'), digest('orphan2')].map((d) => state.sizeOf(d)),
  };
}

describe('the admin index snapshot', () => {
  it('reads back an index that answers as the one written, and keeps working after', async () => {
    const driver = new MemoryDriver();
    const state = sampleState();
    await writeSnapshot(driver, state, 1234);
    const read = await readSnapshot(driver);
    expect(read?.header).toMatchObject({ asOf: 1234, repositories: 2999, version: 3 });
    expect(figures(read!.state)).toEqual(figures(state));

    for (const s of [state, read!.state]) {
      s.removeRepository(name(18));
      s.setBlob(digest('new'), 99);
      s.updateRepository(name(19), { addRefs: [digest('new'), digest('r20b0')] });
      s.setBlob(digest('r21b0'), undefined);
    }
    expect(figures(read!.state)).toEqual(figures(state));
  });

  it('hands over the rows first: they answer the list of repositories and the storage totals as the whole index does', async () => {
    const driver = new MemoryDriver();
    const state = sampleState();
    await writeSnapshot(driver, state, 1234);
    let rows: IndexState | undefined;
    let wholeWhenRows: unknown = 'not yet';
    const reading = readSnapshot(driver, (r) => {
      rows = r;
      wholeWhenRows = undefined;
    });
    const read = await reading;
    expect(wholeWhenRows).toBeUndefined();
    expect(rowFigures(rows!)).toEqual(rowFigures(state));
    expect(rowFigures(read!.state)).toEqual(rowFigures(state));
  });

  it('still reads a snapshot of version 2 (no rows part), whole', async () => {
    const driver = new MemoryDriver();
    const state = sampleState();
    await writeSnapshot(driver, state, 1234);
    const v2 = asVersion2(await driver.getContent(layout.indexSnapshot()));
    await driver.delete(layout.indexSnapshot());
    await driver.putContent(layout.indexSnapshot(), v2);
    let rowsCalled = false;
    const read = await readSnapshot(driver, () => (rowsCalled = true));
    expect(read?.header).toMatchObject({ asOf: 1234, version: 2 });
    expect(rowsCalled).toBe(false);
    expect(figures(read!.state)).toEqual(figures(state));
  });

  it('is not read when cut short, of another version, or garbled', async () => {
    const driver = new MemoryDriver();
    await writeSnapshot(driver, sampleState(), 1);
    const whole = await driver.getContent(layout.indexSnapshot());
    const replace = async (bytes: Buffer) => {
      await driver.delete(layout.indexSnapshot());
      await driver.putContent(layout.indexSnapshot(), bytes);
      return readSnapshot(driver);
    };
    expect(await replace(whole.subarray(0, whole.length - 4))).toBeUndefined();
    expect(await replace(whole.subarray(0, Math.floor(whole.length / 2)))).toBeUndefined();
    const text = whole.toString('latin1');
    expect(await replace(Buffer.from(text.replace('"version":3', '"version":1'), 'latin1'))).toBeUndefined();
    expect(await replace(Buffer.from('{"format":"wharf-admin-index"', 'utf8'))).toBeUndefined();
    const header = JSON.parse(whole.subarray(0, whole.indexOf(10)).toString('utf8')) as { high: number; free: number; rowsBytes: number };
    const rowsGarbled = Buffer.from(whole);
    rowsGarbled.writeUInt16LE(0xffff, whole.indexOf(10) + 1); // the first row's name length
    expect(await replace(rowsGarbled)).toBeUndefined();
    const firstBatch = whole.indexOf(10) + 1 + header.rowsBytes + header.high * (16 + 8 + 4 + 1) + header.free * 4;
    const garbled = Buffer.from(whole);
    garbled.writeUInt32LE(0xffffffff, firstBatch + 4); // the first batch's count of repositories
    expect(await replace(garbled)).toBeUndefined();
    expect(await replace(Buffer.from(whole))).toBeDefined();
    await driver.delete(layout.indexSnapshot());
    expect(await readSnapshot(driver)).toBeUndefined();
  });
});
