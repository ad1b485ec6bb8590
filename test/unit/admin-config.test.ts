import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/load.js';

describe('admin.import.maxbytes', () => {
  it('defaults to 10 GiB and is overridden by WHARF_ADMIN_IMPORT_MAXBYTES', () => {
    expect(loadConfig(undefined, {}).admin.import.maxbytes).toBe(10 * 1024 ** 3);
    expect(loadConfig(undefined, { WHARF_ADMIN_IMPORT_MAXBYTES: '1048576' }).admin.import.maxbytes).toBe(1_048_576);
  });

  it('refuses a value that is not a positive whole number of bytes, naming the key, the value and the fix', () => {
    for (const value of ['10GiB', '0', '-5', '1.5']) {
      let message = '';
      try {
        loadConfig(undefined, { WHARF_ADMIN_IMPORT_MAXBYTES: value });
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        message = (err as Error).message;
      }
      expect(message).toContain(`config key "admin.import.maxbytes" = "${value}" (from environment variable WHARF_ADMIN_IMPORT_MAXBYTES)`);
      expect(message).toContain('positive whole number of bytes');
    }
  });
});

describe('admin.index', () => {
  it('polls every 2 s and walks every day by default; both are overridden from the environment', () => {
    expect(loadConfig(undefined, {}).admin.index).toEqual({ poll: 2000, rebuild: 86_400_000 });
    expect(loadConfig(undefined, { WHARF_ADMIN_INDEX_POLL: '500ms', WHARF_ADMIN_INDEX_REBUILD: '6h' }).admin.index).toEqual({ poll: 500, rebuild: 6 * 3_600_000 });
  });

  it('refuses a poll under 100ms and a rebuild under 1m, naming the key and the limit', () => {
    for (const [variable, value, key, limit] of [
      ['WHARF_ADMIN_INDEX_POLL', '10ms', 'admin.index.poll', 'at least 100ms'],
      ['WHARF_ADMIN_INDEX_REBUILD', '30s', 'admin.index.rebuild', 'at least 1m'],
    ] as const) {
      let message = '';
      try {
        loadConfig(undefined, { [variable]: value });
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        message = (err as Error).message;
      }
      expect(message).toContain(`config key "${key}" = "${value}"`);
      expect(message).toContain(limit);
    }
  });
});
