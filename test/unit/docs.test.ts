/**
 * The documentation stays true to the code and to itself: docs/configuration.md documents every key of
 * the configuration schema (a key added to src/config/ without a line there fails here), the README
 * links every reference page, and every relative link of README.md and docs/*.md (with its #anchor)
 * leads somewhere.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import { configKeys } from '../support/config-keys.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

describe('docs/configuration.md', () => {
  const doc = readFileSync(join(ROOT, 'docs/configuration.md'), 'utf8');
  const keys = configKeys(configSchema);

  it('the schema walk finds the keys (so the check below cannot pass empty)', () => {
    expect(keys.length).toBeGreaterThan(40);
    expect(keys).toEqual(expect.arrayContaining(['http.addr', 'storage.s3.bucket', 'auth.acl[].actions', 'gc.retention[].keeplast', 'admin.allowremote']));
  });

  it.each(keys)('documents %s', (key) => {
    expect(doc).toContain(`\`${key}\``);
  });
});

describe('the README', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');

  it('links only to documentation pages that exist, and to every page under docs/', () => {
    const linked = [...readme.matchAll(/\]\((docs\/[^)#]+)/g)].map((m) => m[1]!);
    expect(linked.length).toBeGreaterThanOrEqual(7);
    for (const page of linked) expect(existsSync(join(ROOT, page)), page).toBe(true);
    for (const page of ['configuration', 'authentication', 'garbage-collection', 'admin-api', 's3', 'storage-layout', 'performance']) {
      expect(linked, page).toContain(`docs/${page}.md`);
    }
  });

  it('stays a front page: under 200 lines', () => {
    expect(readme.split('\n').length).toBeLessThan(200);
  });
});

/** GitHub's anchor of a heading: lower case, punctuation but `-` dropped, spaces as `-`. */
function slug(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^a-z0-9 _-]/g, '')
    .replace(/ /g, '-');
}

function anchors(file: string): Set<string> {
  const text = readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, '');
  return new Set([...text.matchAll(/^#{1,6} (.+)$/gm)].map((m) => slug(m[1]!)));
}

describe('relative links', () => {
  const pages = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
  it.each(pages)('%s links to files and headings that exist', (page) => {
    const from = join(ROOT, page);
    const text = readFileSync(from, 'utf8');
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target!)) continue; // https:, mailto:
      const [path, anchor] = target!.split('#');
      const file = path === '' ? from : resolve(dirname(from), path!);
      expect(existsSync(file), `${page}: ${target}`).toBe(true);
      if (anchor && file.endsWith('.md')) expect(anchors(file).has(anchor), `${page}: ${target}`).toBe(true);
    }
  });
});
