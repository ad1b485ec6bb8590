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
