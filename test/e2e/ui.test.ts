/**
 * The web page in a real browser: Debian's headless `chromium` driven by Playwright
 * (`playwright-core`) against a real `wharf serve` filled by docker and skopeo (ui-registry.ts).
 * Each view shows what the APIs hold; deleting a tag and running garbage collection from the page
 * frees the bytes the page said it would; an account that is not an admin sees no admin actions and
 * is refused them; hostile labels and annotations are shown as text; the Content-Security-Policy is
 * in force (an injected inline script is refused) and no view breaks it; the keyboard alone sorts,
 * opens and confirms. Screenshots of each view are written to `test-results/ui/` (the CI artifacts).
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTools, which, type Tool, TOOLS } from './helpers.js';
import { bytesOf, pages, shownTime, type Pages } from './ui-page.js';
import { CHROMIUM, HOSTILE, SCREENSHOTS, SIGNATURE_TYPE, startUiRegistry, type UiRegistry } from './ui-registry.js';

const HTPASSWD: Tool = { name: 'htpasswd', debianPackage: 'apache2-utils' };

let reg: UiRegistry;
let browser: Browser;
let signedIn: Pages['signedIn'];
let close: Pages['close'];
let admin: Pages['admin'];
let violations: Pages['violations'];

beforeAll(async () => {
  await requireTools(CHROMIUM, HTPASSWD, TOOLS.docker, TOOLS.skopeo, TOOLS.tar);
  await mkdir(SCREENSHOTS, { recursive: true });
  reg = await startUiRegistry();
  browser = await chromium.launch({ executablePath: await which('chromium'), args: ['--no-sandbox'] });
  ({ signedIn, close, admin, violations } = pages(reg, browser));
});

afterAll(async () => {
  await browser?.close();
  await reg?.dispose();
});

interface Summary {
  name: string;
  tags: number;
  manifests: number;
  bytes: { unique: number; shared: number; total: number };
  lastPush: string;
}

describe('the web page in chromium', () => {
  it('shows the repositories with the admin index figures, sorted on request', async () => {
    const page = await signedIn('ada');
    const { repositories } = await admin<{ repositories: Summary[] }>('/admin/v1/repositories');
    expect(repositories.map((r) => r.name)).toEqual(['ui/app', 'ui/multi', 'ui/solo']);
    await page.getByText('3 repositories').waitFor();
    for (const r of repositories) {
      const row = page.locator('tbody tr', { has: page.getByRole('link', { name: r.name, exact: true }) });
      const cells = row.locator('td');
      expect(await cells.nth(0).textContent()).toBe(String(r.tags));
      expect(await cells.nth(1).textContent()).toBe(String(r.manifests));
      expect(await cells.nth(2).locator('span').getAttribute('title')).toBe(`${r.bytes.unique} bytes`);
      expect(await cells.nth(3).locator('span').getAttribute('title')).toBe(`${r.bytes.shared} bytes`);
      expect(await cells.nth(4).locator('span').getAttribute('title')).toBe(`${r.bytes.total} bytes`);
      expect(await cells.nth(5).textContent()).toBe(shownTime(r.lastPush));
    }
    await page.getByRole('button', { name: /^Total/ }).click();
    await page.locator('th[aria-sort="descending"]', { hasText: 'Total' }).waitFor();
    const largest = [...repositories].sort((a, b) => b.bytes.total - a.bytes.total || (a.name < b.name ? -1 : 1))[0]!;
    await expect.poll(() => page.locator('tbody tr th a').first().textContent()).toBe(largest.name);
    await page.getByLabel('Filter repositories').fill('multi');
    await page.getByText('1 repositories matching “multi”').waitFor();
    await page.getByLabel('Filter repositories').fill('');
    await page.getByText('3 repositories').waitFor();
    await page.screenshot({ path: join(SCREENSHOTS, 'repositories.png'), fullPage: true });
    await close(page);
  });

  it('shows a repository’s tags with platforms, and an index with its platforms', async () => {
    const page = await signedIn('ada');
    await page.getByRole('link', { name: 'ui/multi', exact: true }).click();
    const row = page.locator('tbody tr', { hasText: '2.0' });
    await row.waitFor();
    expect(await row.textContent()).toContain('linux/amd64, linux/arm64/v8');
    expect(await row.locator('code').getAttribute('title')).toBe(reg.indexDigest);
    const { tags } = await admin<{ tags: { tag: string; mediaType: string; size: number; pushedAt: string }[] }>('/admin/v1/repositories/ui/multi/tags');
    expect(tags.map((t) => t.tag)).toEqual(['2.0']);
    expect(await row.locator('td.mt').textContent()).toBe(tags[0]!.mediaType);
    expect(await bytesOf(page, 'tbody tr:has-text("2.0") td.num span')).toBe(tags[0]!.size);
    expect(await row.textContent()).toContain(shownTime(tags[0]!.pushedAt));
    await page.screenshot({ path: join(SCREENSHOTS, 'repository.png'), fullPage: true });
    await row.getByRole('link', { name: '2.0' }).click();
    await page.getByText('image index').waitFor();
    const platforms = page.locator('table', { has: page.locator('caption', { hasText: 'Platforms' }) });
    expect(await platforms.locator('tbody th').allTextContents()).toEqual(['linux/amd64', 'linux/arm64/v8']);
    await page.screenshot({ path: join(SCREENSHOTS, 'image-index.png'), fullPage: true });
    await close(page);
  });

  it('shows an image’s config, layers, history, referrers and pull commands, hostile label and annotation as text', async () => {
    const page = await signedIn('ada');
    await page.goto(`${reg.wharf.url}/ui/#/i/${encodeURIComponent('ui/app')}/1.0`);
    await page.getByText('Referrers (1)').waitFor();
    await page.getByText('MODE=production', { exact: true }).waitFor();
    const config = page.locator('table.kv', { has: page.locator('caption', { hasText: 'Config' }) });
    expect(await config.textContent()).toContain('/srv');
    expect(await config.textContent()).toContain('cat /srv/data.txt');
    const label = page.locator('table.labels tr', { hasText: 'org.example.evil' }).locator('td');
    expect(await label.textContent()).toBe(HOSTILE);
    const referrer = page.locator('table', { has: page.locator('caption', { hasText: 'Referrers' }) }).locator('tbody tr');
    expect(await referrer.textContent()).toContain(SIGNATURE_TYPE);
    expect(await referrer.locator('td').first().textContent()).toBe('signature');
    expect(await referrer.locator('ul li').textContent()).toBe(`org.example.signed-by: ${HOSTILE}`);
    expect(await page.locator('main script, main img').count()).toBe(0);
    expect(await page.evaluate(() => (globalThis as { __pwned?: number }).__pwned)).toBeUndefined();
    const commands = await page.locator('.copy input').evaluateAll((inputs) => inputs.map((i) => (i as unknown as { value: string }).value));
    expect(commands).toEqual([
      `docker pull ${reg.wharf.host}/ui/app@${reg.appDigest}`,
      `wharf pull --insecure ${reg.wharf.host}/ui/app@${reg.appDigest} ./app`,
      `skopeo copy --src-tls-verify=false docker://${reg.wharf.host}/ui/app@${reg.appDigest} oci-archive:app.tar`,
    ]);
    const stored = await fetch(`${reg.wharf.url}/v2/ui/app/manifests/${reg.appDigest}`, { headers: { Authorization: reg.basic('ada'), Accept: 'application/vnd.docker.distribution.manifest.v2+json' } });
    const text = await stored.text();
    expect(await page.locator('pre.manifest').first().textContent()).toBe(text);
    const { layers } = JSON.parse(text) as { layers: { digest: string; mediaType: string; size: number }[] };
    const rows = page.locator('table', { has: page.locator('caption', { hasText: /layers?,/ }) }).locator('tbody tr');
    expect(layers.length).toBeGreaterThanOrEqual(2);
    expect(await rows.count()).toBe(layers.length);
    for (const [i, l] of layers.entries()) {
      expect(await rows.nth(i).locator('code').getAttribute('title')).toBe(l.digest);
      expect(await rows.nth(i).locator('td.mt').textContent()).toBe(l.mediaType);
      expect(await rows.nth(i).locator('td.num span').getAttribute('title')).toBe(`${l.size} bytes`);
    }
    const history = page.locator('table', { has: page.locator('caption', { hasText: 'History' }) }).locator('tbody');
    expect(await history.textContent()).toMatch(/COPY .*\/srv\/data\.txt/);
    await page.screenshot({ path: join(SCREENSHOTS, 'image.png'), fullPage: true });
    await page.screenshot({ path: join(SCREENSHOTS, 'image-top.png') });
    await close(page);
  });

  it('fits a phone without sideways scrolling, and the keyboard alone sorts and opens a repository', async () => {
    const page = await signedIn('ada');
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByText('3 repositories').waitFor();
    expect(await page.evaluate('document.documentElement.scrollWidth <= innerWidth')).toBe(true);
    await page.screenshot({ path: join(SCREENSHOTS, 'repositories-phone.png'), fullPage: true });
    await page.getByLabel('Filter repositories').focus();
    await page.keyboard.press('Tab'); // the Name column's sort button
    expect(await page.evaluate('document.activeElement?.textContent')).toMatch(/^Name/);
    await page.keyboard.press('Enter');
    await page.locator('th[aria-sort="descending"]', { hasText: 'Name' }).waitFor();
    // the sorted page arrives after the header turns: tabbing before it lands on rows about to move
    await page.locator('table.list:not([aria-busy="true"]) tbody tr').first().filter({ hasText: 'ui/solo' }).waitFor();
    for (let i = 0; i < 7; i++) await page.keyboard.press('Tab'); // the other six sort buttons, then the first repository
    expect(await page.evaluate('document.activeElement?.textContent')).toBe('ui/solo');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'ui/solo' }).waitFor();
    await close(page);
  });

  it('deleting a tag and running GC from the page frees the bytes the page said it would', async () => {
    const page = await signedIn('ada');
    await page.goto(`${reg.wharf.url}/ui/#/r/${encodeURIComponent('ui/solo')}`);
    await page.getByText('Unique bytes').waitFor();
    const unique = await bytesOf(page, 'table.kv tr:has-text("Unique bytes") span');
    expect(unique).toBeGreaterThan(256 * 1024);
    // the keyboard alone: the dialog opens on Cancel, Escape leaves the tag, Tab and Enter delete it
    const active = () => page.evaluate('document.activeElement?.textContent?.trim()');
    await page.getByRole('button', { name: 'Delete tag old' }).focus();
    await page.keyboard.press('Enter');
    await page.locator('dialog[open]').waitFor();
    expect(await active()).toBe('Cancel');
    await page.keyboard.press('Escape');
    await page.locator('dialog').waitFor({ state: 'detached' });
    expect(await page.getByText('1 tags').count()).toBe(1);
    await page.getByRole('button', { name: 'Delete tag old' }).focus();
    await page.keyboard.press('Enter');
    await page.locator('dialog[open]').waitFor();
    await page.keyboard.press('Tab');
    expect(await active()).toBe('Delete tag');
    await page.keyboard.press('Enter');
    await page.getByText('0 tags').waitFor();

    await page.getByRole('link', { name: 'Storage and cleanup' }).click();
    await page.getByText('Blob bytes').waitFor();
    const before = await bytesOf(page, 'table.kv tr:has-text("Blob bytes") span');
    await page.getByLabel('Also delete untagged manifests').check();
    await page.getByRole('button', { name: /^Dry run/ }).click();
    await page.locator('.run[data-state="succeeded"]').waitFor({ timeout: 60_000 });
    expect(await page.locator('.run .outcome').textContent()).toMatch(/^would free /);
    const wouldFree = await bytesOf(page, '.run .outcome span[title]');
    expect(wouldFree).toBe(unique);
    await page.screenshot({ path: join(SCREENSHOTS, 'storage-dry-run.png'), fullPage: true });

    await page.getByRole('button', { name: 'Run garbage collection' }).click();
    await page.locator('dialog').getByRole('button', { name: 'Run' }).click();
    await page.locator('.run[data-state="succeeded"]:has-text("freed")').waitFor({ timeout: 60_000 });
    expect(await bytesOf(page, '.run .outcome span[title]')).toBe(wouldFree);
    await expect.poll(() => bytesOf(page, 'table.kv tr:has-text("Blob bytes") span')).toBe(before - wouldFree);
    const storage = await admin<{ blobs: { bytes: number } }>('/admin/v1/storage');
    expect(storage.blobs.bytes).toBe(before - wouldFree);
    expect(await page.locator('ol.history li').count()).toBe(2);
    await page.screenshot({ path: join(SCREENSHOTS, 'storage.png'), fullPage: true });
    await close(page);
  });

  it('shows the retention rules in force, and a dry run lists what they would delete now', async () => {
    await reg.pushTags('ui/nightly-a', ['v1', 'n1', 'n2', 'n3', 'n4', 'n5']); // kept: v1 (keeptags), n3..n5 (keeplast 3)
    const page = await signedIn('ada');
    await page.goto(`${reg.wharf.url}/ui/#/storage`);
    const rule = page.locator('table', { has: page.locator('caption', { hasText: 'Rules' }) }).locator('tbody tr');
    await rule.waitFor();
    expect(await rule.locator('th').textContent()).toBe('ui/nightly-*');
    expect(await rule.locator('td').allTextContents()).toEqual(['3', '^v[0-9]', '-', 'kept']);
    await page.getByRole('button', { name: /^Dry run/ }).click();
    const run = page.locator('.run[data-state="succeeded"]');
    await run.waitFor({ timeout: 60_000 });
    const row = run.locator('table', { has: page.locator('caption', { hasText: 'By repository' }) }).locator('tbody tr');
    expect(await row.locator('th').allTextContents()).toEqual(['ui/nightly-a']);
    expect(await row.locator('td').first().textContent()).toBe('2');
    const tags = await fetch(`${reg.wharf.url}/v2/ui/nightly-a/tags/list`, { headers: { Authorization: reg.basic('ada') } });
    expect(((await tags.json()) as { tags: string[] }).tags).toHaveLength(6); // a dry run deletes nothing
    await page.screenshot({ path: join(SCREENSHOTS, 'storage-retention.png'), fullPage: true });
    await close(page);
  });

  it('keeps its Content-Security-Policy in force: an inline script put into the page is refused and reported', async () => {
    const page = await signedIn('ada');
    await page.evaluate("const s = document.createElement('script'); s.textContent = 'window.__inline = 1'; document.body.append(s)");
    await expect.poll(() => violations(page)).toEqual(['script-src-elem inline']);
    expect(await page.evaluate(() => (globalThis as { __inline?: number }).__inline)).toBeUndefined();
    await page.context().close();
  });

  it('a registry without a proxy section or notification endpoints says so in those views', async () => {
    const page = await signedIn('ada');
    await page.getByRole('link', { name: 'Pull-through cache' }).click();
    await page.getByText('No upstreams configured').waitFor();
    expect(await page.getByRole('alert').count()).toBe(0);
    await page.getByRole('link', { name: 'Notifications' }).click();
    await page.getByText('No notification endpoints configured').waitFor();
    await page.screenshot({ path: join(SCREENSHOTS, 'cache-none.png') });
    await close(page);
  });

  it('an account that is not an admin sees no admin action and the server refuses them', async () => {
    await reg.pushTags('team/secret', ['1']); // outside bob's ui/*
    const page = await signedIn('bob');
    expect(await page.locator('.who').textContent()).not.toContain('admin');
    for (const view of ['Storage and cleanup', 'Pull-through cache', 'Notifications']) expect(await page.getByRole('link', { name: view }).count()).toBe(0);
    await page.getByRole('link', { name: 'ui/app', exact: true }).waitFor();
    expect(await page.locator('ul.names a').allTextContents()).toEqual(['ui/app', 'ui/multi', 'ui/nightly-a']); // not team/secret (ui/solo went with its last tag)
    await page.getByRole('link', { name: 'ui/app', exact: true }).click();
    await page.getByRole('link', { name: '1.0' }).waitFor();
    expect(await page.getByRole('button', { name: /delete/i }).count()).toBe(0);
    await page.getByRole('link', { name: '1.0' }).click();
    await page.getByText('Referrers (1)').waitFor();
    await page.screenshot({ path: join(SCREENSHOTS, 'non-admin-image.png'), fullPage: true });
    await page.goto(`${reg.wharf.url}/ui/#/r/team/secret`);
    await page.getByRole('alert').filter({ hasText: /\(40[13]\)/ }).waitFor();
    expect(await page.locator('ul.names a').count()).toBe(0);
    await page.goto(`${reg.wharf.url}/ui/#/storage`);
    await page.getByText('Storage and cleanup is for administrators.').waitFor();
    const refused = await page.evaluate(async (auth) => {
      const statuses = [];
      for (const [method, path] of [['POST', '/admin/v1/gc'], ['DELETE', '/admin/v1/repositories/ui/app/tags/1.0'], ['DELETE', '/admin/v1/repositories/ui/app'], ['GET', '/admin/v1/storage']]) {
        statuses.push((await fetch(path!, { method, headers: { Authorization: auth } })).status);
      }
      return statuses;
    }, reg.basic('bob'));
    expect(refused).toEqual([403, 403, 403, 403]);
    const tags = await fetch(`${reg.wharf.url}/v2/ui/app/tags/list`, { headers: { Authorization: reg.basic('ada') } });
    expect(((await tags.json()) as { tags: string[] }).tags).toEqual(['1.0']);
    await close(page);
  });
});
