/** The `gc` section of the configuration: defaults, the shape, durations, and errors that name the key and value. */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { configWarnings } from '../../src/config/warnings.js';
import { RetentionPolicy } from '../../src/gc/retention.js';
import type { RepositoryName, Tag } from '../../src/oci/reference.js';
import type { TagLink } from '../../src/registry/manifests.js';
import { configErrorOf, configFile } from '../support/config.js';

function file(yaml: string): string {
  return configFile(`storage: {inmemory: {}}\n${yaml}`);
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
    expect(configErrorOf(() => loadConfig(path, {}))).toContain(`config key "gc.retention.0.keeptags" = "^(main|v[0-9" (in ${path}): not a valid regular expression`);
  });

  it('refuses a bad duration, a zero interval, a negative keeplast and unknown keys, naming each', () => {
    const message = configErrorOf(() =>
      loadConfig(file('gc:\n  grace: soon\n  interval: 0s\n  retention:\n    - {name: "a", keeplast: -1, keep: 3}\n'), {}),
    );
    expect(message).toContain('config key "gc.grace" = "soon"');
    expect(message).toContain('config key "gc.interval" = "0s"');
    expect(message).toContain('config key "gc.retention.0.keeplast" = -1');
    expect(message).toContain('config key "gc.retention.0.keep"');
  });

  it('keeptags is matched in linear time: a pattern that backtracks catastrophically in a JavaScript RegExp, over a 128-character tag, ends', () => {
    const config = loadConfig(file('gc:\n  retention:\n    - {name: "ci/*", keeplast: 0, keeptags: "(a+)+$"}\n    - {name: "x", keeplast: 0, keeptags: "^(a|a)*$"}\n'), {});
    const policy = new RetentionPolicy(config.gc.retention);
    const bad = `${'a'.repeat(127)}!`;
    const tags = new Map([
      [bad, { digest: 'sha256:' + '0'.repeat(64), pushedAt: '2026-01-01T00:00:00Z' }],
      ['aaa', { digest: 'sha256:' + '0'.repeat(64), pushedAt: '2026-01-01T00:00:00Z' }],
    ]) as Map<Tag, TagLink>;
    expect(policy.plan('ci/app' as RepositoryName, tags, Date.now()).map((d) => d.tag)).toEqual([bad]);
    expect(policy.plan('x' as RepositoryName, tags, Date.now()).map((d) => d.tag)).toEqual([bad]);
  });

  it('refuses a keeptags pattern the linear-time matcher cannot run (lookaround, backreference), naming key, value and fix', () => {
    const message = configErrorOf(() => loadConfig(file('gc:\n  retention:\n    - {name: "a", keeptags: "^(?!dev-)"}\n    - {name: "b", keeptags: "(x)\\\\1"}\n'), {}));
    expect(message).toContain('config key "gc.retention.0.keeptags" = "^(?!dev-)"');
    expect(message).toContain('config key "gc.retention.1.keeptags" = "(x)\\\\1"');
    expect(message).toContain('lookarounds and backreferences are not supported');
  });

  it('refuses a malformed glob in a rule name', () => {
    for (const glob of ['[invalid', 'ci/{a,b', 'ci/(x']) {
      const message = configErrorOf(() => loadConfig(file(`gc:\n  retention:\n    - {name: "${glob}", keeplast: 3}\n`), {}));
      expect(message).toContain(`config key "gc.retention.0.name" = "${glob}"`);
      expect(message).toContain('not a valid glob');
    }
    expect(loadConfig(file('gc:\n  retention:\n    - {name: "ci/[ab]*/{x,y}", keeplast: 3}\n'), {}).gc.retention[0]!.name).toBe('ci/[ab]*/{x,y}');
  });

  it('refuses durations beyond 876000h (100 years), and timers (gc.interval, http.idletimeout) beyond 596h, with the bound', () => {
    const huge = configErrorOf(() => loadConfig(file(''), { WHARF_GC_GRACE: '99999999999h' }));
    expect(huge).toContain('config key "gc.grace" = "99999999999h" (from environment variable WHARF_GC_GRACE): must be at most 876000h (100 years)');
    expect(loadConfig(file(''), { WHARF_GC_GRACE: '876000h' }).gc.grace).toBe(876_000 * 3_600_000);
    const timer = configErrorOf(() => loadConfig(file('gc:\n  interval: 720h\nhttp:\n  idletimeout: 600h\n'), {}));
    expect(timer).toContain('config key "gc.interval" = "720h"');
    expect(timer).toContain('config key "http.idletimeout" = "600h"');
    expect(timer).toContain('must be at most 596h');
    expect(loadConfig(file('gc:\n  interval: 596h\n'), {}).gc.interval).toBe(596 * 3_600_000);
  });

  it('warns (without refusing) about keeplast 0, olderthan 0s, uploadpurge.age 0s and grace 0s, naming the key and what it does', () => {
    const config = loadConfig(
      file('gc:\n  grace: 0s\n  uploadpurge: {age: 0s}\n  retention:\n    - {name: "ci/*", keeplast: 0}\n    - {name: "tmp/**", olderthan: 0s, keeptags: "^keep$"}\n'),
      {},
    );
    const warnings = configWarnings(config);
    expect(warnings.map((w) => w.key)).toEqual(['gc.grace', 'gc.uploadpurge.age', 'gc.retention.0.keeplast', 'gc.retention.1.olderthan']);
    expect(warnings[1]!.message).toContain('deletes every upload session');
    expect(warnings[2]!.message).toContain('each run deletes every tag in repositories matching "ci/*"');
    expect(warnings[3]!.message).toContain('every tag not matching keeptags "^keep$" in repositories matching "tmp/**"');
    expect(configWarnings(loadConfig(file('gc:\n  retention:\n    - {name: "ci/*", keeplast: 1, olderthan: 1h}\n'), {}))).toEqual([]);
  });

  it('a retention rule needs a name', () => {
    expect(configErrorOf(() => loadConfig(file('gc:\n  retention:\n    - {keeplast: 3}\n'), {}))).toContain('config key "gc.retention.0.name" = missing');
  });
});

describe('config/examples/gc.yaml', () => {
  it('is a valid configuration with the documented rules', () => {
    const c = loadConfig(join(import.meta.dirname, '../../config/examples/gc.yaml'), {});
    expect(c.gc).toMatchObject({ grace: 3_600_000, interval: 86_400_000, retention: [{ name: 'ci/*', keeplast: 10 }, { name: 'scratch/**' }] });
  });
});
