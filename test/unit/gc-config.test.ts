/** The `gc` section of the configuration: defaults, the shape, durations, and errors that name the key and value. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/load.js';

function file(yaml: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'wharf-config-')), 'config.yml');
  writeFileSync(path, `storage: {inmemory: {}}\n${yaml}`);
  return path;
}

function error(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('gc configuration', () => {
  it('defaults: grace 1h, deleteuntagged off, no interval, upload purge after 24h, no retention', () => {
    expect(loadConfig(file(''), {}).gc).toEqual({ grace: 3_600_000, deleteuntagged: false, uploadpurge: { age: 86_400_000 }, retention: [] });
  });

  it("reads the issue's shape, durations in ms", () => {
    const path = file(`gc:
  grace: 0s
  deleteuntagged: true
  interval: 24h
  uploadpurge: {age: 90m}
  retention:
    - {name: "ci/*", keeplast: 10, keeptags: "^(main|v[0-9].*)$", olderthan: 720h, deleteuntagged: true}
    - {name: "**", olderthan: 1h30m}
`);
    expect(loadConfig(path, {}).gc).toEqual({
      grace: 0,
      deleteuntagged: true,
      interval: 86_400_000,
      uploadpurge: { age: 5_400_000 },
      retention: [
        { name: 'ci/*', keeplast: 10, keeptags: '^(main|v[0-9].*)$', olderthan: 2_592_000_000, deleteuntagged: true },
        { name: '**', olderthan: 5_400_000 },
      ],
    });
  });

  it('takes WHARF_GC_* overrides', () => {
    const c = loadConfig(file(''), { WHARF_GC_GRACE: '10s', WHARF_GC_DELETEUNTAGGED: 'true', WHARF_GC_UPLOADPURGE_AGE: '2h' });
    expect(c.gc).toMatchObject({ grace: 10_000, deleteuntagged: true, uploadpurge: { age: 7_200_000 } });
  });

  it('a bad keeptags regular expression names the key and the value', () => {
    const path = file('gc:\n  retention:\n    - {name: "ci/*", keeptags: "^(main|v[0-9"}\n');
    expect(error(() => loadConfig(path, {}))).toContain(`config key "gc.retention.0.keeptags" = "^(main|v[0-9" (in ${path}): not a valid regular expression`);
  });

  it('refuses a bad duration, a zero interval, a negative keeplast and unknown keys, naming each', () => {
    const message = error(() =>
      loadConfig(file('gc:\n  grace: soon\n  interval: 0s\n  retention:\n    - {name: "a", keeplast: -1, keep: 3}\n'), {}),
    );
    expect(message).toContain('config key "gc.grace" = "soon"');
    expect(message).toContain('config key "gc.interval" = "0s"');
    expect(message).toContain('config key "gc.retention.0.keeplast" = -1');
    expect(message).toContain('config key "gc.retention.0.keep"');
  });

  it('a retention rule needs a name', () => {
    expect(error(() => loadConfig(file('gc:\n  retention:\n    - {keeplast: 3}\n'), {}))).toContain('config key "gc.retention.0.name" = missing');
  });
});

describe('config/examples/gc.yaml', () => {
  it('is a valid configuration with the documented rules', () => {
    const c = loadConfig(join(import.meta.dirname, '../../config/examples/gc.yaml'), {});
    expect(c.gc).toMatchObject({ grace: 3_600_000, interval: 86_400_000, retention: [{ name: 'ci/*', keeplast: 10 }, { name: 'scratch/**' }] });
  });
});
