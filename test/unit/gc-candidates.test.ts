/**
 * A GC run's candidate markers (src/gc/protocol.ts): one object per algorithm and first two hex
 * characters, however many digests; a digest listed is found, one not listed is not (also when it
 * shares its object, or a prefix of a listed hex), of either algorithm, and a run that wrote none has none.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { anyCandidate, writeCandidates } from '../../src/gc/protocol.js';
import type { Digest } from '../../src/oci/digest.js';
import { MemoryDriver } from '../../src/storage/memory.js';
import * as layout from '../../src/storage/layout.js';

const sha256 = (i: number): Digest => `sha256:${createHash('sha256').update(String(i)).digest('hex')}` as Digest;
const sha512 = (i: number): Digest => `sha512:${createHash('sha512').update(String(i)).digest('hex')}` as Digest;
const RUN = '0b5e0b5e-0000-4000-8000-000000000001' as layout.GcRunId;

describe('candidate markers', () => {
  it('are one object per algorithm and hex prefix, and tell the candidates from the rest', async () => {
    const driver = new MemoryDriver();
    const candidates = [...Array.from({ length: 3000 }, (_, i) => sha256(i)), sha512(1), sha512(2)];
    await writeCandidates(driver, RUN, [...candidates, sha256(5)]); // twice: listed once
    const objects = await driver.list(`${layout.gcRunMarkers(RUN)}/candidates/sha256`);
    expect(objects.length).toBe(256);
    expect(await driver.list(`${layout.gcRunMarkers(RUN)}/candidates/sha512`)).toHaveLength(2);
    const shard = (await driver.getContent(layout.gcCandidatesOf(RUN, sha256(5)))).toString('utf8').split('\n');
    expect(shard.filter((line) => line === sha256(5).slice(7))).toHaveLength(1);
    for (const d of [sha256(0), sha256(2999), sha512(2)]) expect(await anyCandidate(driver, RUN, [d])).toBe(true);
    expect(await anyCandidate(driver, RUN, [sha256(3000), sha256(3001), sha512(3)])).toBe(false);
    expect(await anyCandidate(driver, RUN, [sha256(3000), sha256(7)])).toBe(true);
    // a digest whose hex is a listed one's with its last character changed, in the same object
    const near = `${sha256(9).slice(0, -1)}${sha256(9).endsWith('0') ? '1' : '0'}` as Digest;
    expect(await anyCandidate(driver, RUN, [near])).toBe(false);
    const other = '0b5e0b5e-0000-4000-8000-000000000002' as layout.GcRunId;
    expect(await anyCandidate(driver, other, [sha256(0)])).toBe(false);
  });
});
