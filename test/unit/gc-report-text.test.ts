/** `wharf gc`'s text report: a dry run says what it would delete and purge, a real run what it did. */
import { describe, expect, it } from 'vitest';
import { formatReport } from '../../src/cli/gc.js';
import { emptyReport } from '../../src/gc/report.js';

describe('wharf gc report text', () => {
  it('a dry run says "would purge" the upload sessions, not "purged"', () => {
    const text = formatReport({ ...emptyReport('r1', { dryRun: true, deleteUntagged: false, graceMs: 0 }, 0), uploadsPurged: 2 });
    expect(text).toContain('(dry run: nothing was deleted)');
    expect(text).toContain('  would purge 2 abandoned upload sessions (0 bytes), 0 temporary files (0 bytes)');
    expect(text).not.toContain('purged');
  });

  it('a real run says "purged"', () => {
    expect(formatReport(emptyReport('r2', { dryRun: false, deleteUntagged: false, graceMs: 0 }, 0))).toContain('  purged 0 abandoned upload sessions');
  });
});
