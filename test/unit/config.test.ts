import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG_FILE, loadConfig } from '../../src/config/load.js';
import { configErrorOf, configFile } from '../support/config.js';

describe('loadConfig', () => {
  it('embeds a default: 0.0.0.0:5000, filesystem under ./data, deletes on', () => {
    expect(DEFAULT_CONFIG_FILE).toMatch(/config\/default\.yaml$/);
    expect(loadConfig(undefined, {})).toEqual({
      version: 0.1,
      log: { level: 'info' },
      http: { addr: '0.0.0.0:5000', idletimeout: 60_000, headertimeout: 60_000, minbodyrate: 1024, draintimeout: 30_000 },
      storage: { filesystem: { rootdirectory: './data' }, delete: { enabled: true } },
      admin: { import: { maxbytes: 10 * 1024 ** 3 }, allowremote: false, index: { poll: 2000, rebuild: 86_400_000 } },
      health: { storagedriver: { enabled: true, interval: 10_000, threshold: 1 }, file: [] },
      notifications: { events: { includereferences: false }, endpoints: [] },
      gc: { grace: 3_600_000, deleteuntagged: false, uploadpurge: { age: 86_400_000 }, retention: [] },
    });
  });

  it('applies WHARF_<PATH> overrides', () => {
    const c = loadConfig(undefined, {
      WHARF_HTTP_ADDR: '127.0.0.1:5001',
      WHARF_STORAGE_FILESYSTEM_ROOTDIRECTORY: '/tmp/x',
      WHARF_STORAGE_DELETE_ENABLED: 'false',
      WHARF_LOG_LEVEL: 'warn',
      OTHER: 'ignored',
    });
    expect(c.http.addr).toBe('127.0.0.1:5001');
    expect(c.storage.filesystem?.rootdirectory).toBe('/tmp/x');
    expect(c.storage.delete.enabled).toBe(false);
    expect(c.log.level).toBe('warn');
  });

  it('lets an environment override switch the storage driver', () => {
    const c = loadConfig(undefined, { WHARF_STORAGE_INMEMORY: '' });
    expect(c.storage.inmemory).toEqual({});
    expect(c.storage.filesystem).toBeUndefined();
  });

  it('reads a file and fills defaults', () => {
    const c = loadConfig(configFile('storage:\n  inmemory: {}\n'), {});
    expect(c).toMatchObject({ http: { addr: '0.0.0.0:5000' }, storage: { inmemory: {}, delete: { enabled: true } } });
  });

  it('names the key, the value and what is allowed', () => {
    expect(configErrorOf(() => loadConfig(undefined, { WHARF_HTTP_ADDR: 'nonsense' }))).toMatch(
      /config key "http\.addr" = "nonsense" \(from environment variable WHARF_HTTP_ADDR\): expected "host:port"/,
    );
    expect(configErrorOf(() => loadConfig(undefined, { WHARF_LOG_LEVEL: 'loud' }))).toMatch(/"log\.level" = "loud".*expected one of fatal, error, warn, info/);
    expect(configErrorOf(() => loadConfig(undefined, { WHARF_STORAGE_DELETE_ENABLED: 'maybe' }))).toMatch(/"storage\.delete\.enabled" = "maybe".*true or false/);
    expect(configErrorOf(() => loadConfig(undefined, { WHARF_HTTP_ADDR: '0.0.0.0:70000' }))).toMatch(/port must be 0-65535/);
  });

  it('refuses a header value with a line break or control character at start-up (http.headers, notification endpoint headers), not at every response or delivery', () => {
    const endpoint = { name: 'ci', url: 'http://127.0.0.1:9/hook' };
    const withHeaders = (headers: Record<string, unknown>, where: 'http' | 'endpoint') =>
      configFile(JSON.stringify({ storage: { inmemory: {} }, ...(where === 'http' ? { http: { addr: '127.0.0.1:0', headers } } : { notifications: { endpoints: [{ ...endpoint, headers }] } }) }));
    expect(configErrorOf(() => loadConfig(withHeaders({ 'X-Team': ['a\r\nInjected: yes'] }, 'endpoint'), {}))).toMatch(/notifications\.endpoints\.0\.headers\.X-Team.*header value/);
    expect(configErrorOf(() => loadConfig(withHeaders({ 'X-Frame-Options': 'DENY\nX-Other: 1' }, 'http'), {}))).toMatch(/http\.headers\.X-Frame-Options.*header value/);
    expect(loadConfig(withHeaders({ Authorization: ['Bearer abc/+=', 'tab\tand é'] }, 'endpoint'), {}).notifications.endpoints[0]!.headers).toEqual({ Authorization: ['Bearer abc/+=', 'tab\tand é'] });
  });

  it('reports an empty override as an empty string, and one problem per bad value', () => {
    const message = configErrorOf(() => loadConfig(undefined, { WHARF_HTTP_ADDR: '' }));
    expect(message).toMatch(/"http\.addr" = "" \(from environment variable WHARF_HTTP_ADDR\)/);
    expect(configErrorOf(() => loadConfig(undefined, { WHARF_HTTP_ADDR: 'nonsense' }))).not.toMatch(/port must be/);
  });

  it('parses durations and refuses ones without a unit', () => {
    expect(loadConfig(undefined, { WHARF_HTTP_IDLETIMEOUT: '1m30s' }).http.idletimeout).toBe(90_000);
    expect(configErrorOf(() => loadConfig(undefined, { WHARF_HTTP_IDLETIMEOUT: '60' }))).toMatch(/"http\.idletimeout" = "60".*duration such as 90s/);
  });

  it('accepts only configuration version 0.1', () => {
    expect(configErrorOf(() => loadConfig(configFile('version: 0.2\nstorage:\n  inmemory: {}\n'), {}))).toMatch(/"version" = 0\.2.*only configuration version is 0\.1/);
  });

  it('takes "{}" for a driver without options from the environment', () => {
    expect(loadConfig(undefined, { WHARF_STORAGE_INMEMORY: '{}' }).storage.inmemory).toEqual({});
  });

  it('refuses unknown keys, in a file or the environment', () => {
    const f = configFile('http:\n  adr: ":5000"\nstorage:\n  inmemory: {}\n');
    expect(configErrorOf(() => loadConfig(f, {}))).toMatch(new RegExp(`config key "http\\.adr" \\(in ${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\) is not a known key`));
    expect(configErrorOf(() => loadConfig(undefined, { WHARF_HTTP_PORT: '1' }))).toMatch(/"http\.port" \(from environment variable WHARF_HTTP_PORT\) is not a known key/);
  });

  it('requires exactly one storage driver', () => {
    expect(configErrorOf(() => loadConfig(configFile('storage:\n  delete: {enabled: true}\n'), {}))).toMatch(/exactly one storage driver: filesystem or inmemory/);
    expect(configErrorOf(() => loadConfig(configFile('storage:\n  inmemory: {}\n  filesystem: {rootdirectory: /x}\n'), {}))).toMatch(/exactly one storage driver/);
  });

  it('explains unreadable and malformed files', () => {
    expect(configErrorOf(() => loadConfig('/nonexistent/wharf.yml', {}))).toMatch(/cannot read config file \/nonexistent\/wharf\.yml/);
    expect(configErrorOf(() => loadConfig(configFile('http: [\n'), {}))).toMatch(/is not valid YAML/);
    expect(configErrorOf(() => loadConfig(configFile('- a\n- b\n'), {}))).toMatch(/must hold a YAML mapping/);
  });
});
