/**
 * The web page's operations views in a real browser (Debian's `chromium` driven by `playwright-core`)
 * against a real `wharf serve` (ui-ops-registry.ts): after skopeo pulls an image through the cache
 * from CNCF Distribution, the pull-through cache view shows the upstream as reachable with the hits,
 * misses and hit ratio the admin API counts; the notifications view shows the events the receiver
 * got as delivered, and, with the receiver down, the endpoint failing with its queue and the cause.
 * Both fit a phone's width. Screenshots go to `test-results/ui/` with the other views'.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EndpointReport } from '../../src/observability/notifications/report.js';
import type { UpstreamReport } from '../../src/proxy/report.js';
import { requireTools, TOOLS, waitFor, which } from './helpers.js';
import { CHROMIUM, SCREENSHOTS } from './ui-registry.js';
import { startUiOpsRegistry, type UiOpsRegistry } from './ui-ops-registry.js';

let reg: UiOpsRegistry;
let browser: Browser;
/** errors the pages threw (none expected) */
const pageErrors: string[] = [];

beforeAll(async () => {
  await requireTools(CHROMIUM, TOOLS.skopeo, TOOLS.tar, TOOLS.distribution);
  await mkdir(SCREENSHOTS, { recursive: true });
  reg = await startUiOpsRegistry();
  browser = await chromium.launch({ executablePath: await which('chromium'), args: ['--no-sandbox'] });
});

afterAll(async () => {
  expect(pageErrors).toEqual([]);
  await browser?.close();
  await reg?.dispose();
});

/** The admin API's answer (no auth section: everyone is an admin). */
async function admin<T>(path: string): Promise<T> {
  const res = await fetch(`${reg.wharf.url}${path}`);
  expect(res.status).toBe(200);
  return (await res.json()) as T;
}

/** A fresh page on `view` (a fragment), no page error allowed. */
async function open(view: string, width = 1280): Promise<Page> {
  const context = await browser.newContext({ viewport: { width, height: 900 } });
  const page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(`${reg.wharf.url}/ui/#/${view}`);
  return page;
}

/** The value cell of row `name` in the panel of `panel`. */
function cell(page: Page, panel: string, name: string) {
  return page.locator('section.panel', { has: page.getByRole('heading', { name: new RegExp(`^${panel}\\b`) }) }).locator('table.kv tr', { has: page.getByRole('rowheader', { name, exact: true }) }).locator('td');
}

describe('the operations views in chromium', () => {
  it('the pull-through cache view shows the upstream reachable, with the hits, misses and hit ratio of a pull through it', async () => {
    const dir = join(reg.work, 'pulled');
    await reg.copy(`docker://${reg.wharf.host}/dockerhub/library/app:1`, `oci:${dir}:1`);
    await reg.copy(`docker://${reg.wharf.host}/dockerhub/library/app:1`, `oci:${dir}:again`);
    const { upstreams } = await admin<{ upstreams: UpstreamReport[] }>('/admin/v1/cache');
    const hub = upstreams[0]!;
    expect(hub.counts.miss).toBeGreaterThan(0);
    expect(hub.counts.hit).toBeGreaterThan(0);
    expect(hub.health.reachable).toBe(true);

    const page = await open('cache');
    await page.getByRole('heading', { name: 'Pull-through cache' }).waitFor();
    const heading = page.getByRole('heading', { name: /^hub\b/ });
    await heading.waitFor();
    expect(await heading.locator('.state').textContent()).toBe('✓ reachable');
    expect(await cell(page, 'hub', 'Upstream').textContent()).toBe(reg.upstream.url);
    expect(await cell(page, 'hub', 'Hits').textContent()).toBe(String(hub.counts.hit));
    expect(await cell(page, 'hub', 'Misses').textContent()).toBe(String(hub.counts.miss));
    expect(await cell(page, 'hub', 'Hit ratio').textContent()).toBe(`${(Math.round(hub.hitRatio! * 1000) / 10).toFixed(1)} %`);
    expect(await cell(page, 'hub', 'Last error').textContent()).toBe('none');
    expect(await cell(page, 'hub', 'Last contact').textContent()).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);
    await page.screenshot({ path: join(SCREENSHOTS, 'cache.png'), fullPage: true });
    // the keyboard reaches the view's link and the refresh button
    await page.getByRole('link', { name: 'Pull-through cache' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('button', { name: 'Refresh' }).focus();
    await page.keyboard.press('Enter');
    await heading.waitFor();
    await page.setViewportSize({ width: 390, height: 844 });
    expect(await page.evaluate('document.documentElement.scrollWidth <= innerWidth')).toBe(true);
    await page.screenshot({ path: join(SCREENSHOTS, 'cache-phone.png'), fullPage: true });
    await page.context().close();
  });

  it('the notifications view shows the delivered events, then the endpoint failing while the receiver is down', async () => {
    await reg.copy(`oci:${reg.layout}:1`, `docker://${reg.wharf.host}/team/app:1`);
    const endpoint = async () => (await admin<{ endpoints: EndpointReport[] }>('/admin/v1/notifications')).endpoints[0]!;
    await waitFor('every event delivered and counted', async () => {
      const e = await endpoint();
      return e.pending === 0 && e.delivered > 0 && e.delivered === reg.receiver.events().length;
    }, { timeoutMs: 30_000 });
    const delivered = (await endpoint()).delivered;

    const page = await open('notifications');
    const heading = page.getByRole('heading', { name: /^ci\b/ });
    await heading.waitFor();
    expect(await heading.locator('.state').textContent()).toBe('✓ delivering');
    expect(await cell(page, 'ci', 'Events delivered').textContent()).toBe(String(delivered));
    expect(await cell(page, 'ci', 'Events pending').textContent()).toBe('0');
    expect(await cell(page, 'ci', 'Last failure').textContent()).toBe('none');
    expect(await cell(page, 'ci', 'Last attempt').textContent()).toMatch(/UTC: HTTP 202$/);
    await page.screenshot({ path: join(SCREENSHOTS, 'notifications.png'), fullPage: true });

    await reg.receiver.down();
    try {
      await reg.copy(`oci:${reg.layout}:1`, `docker://${reg.wharf.host}/team/app:2`);
      await waitFor('the failed attempts reported', async () => (await endpoint()).consecutiveFailures > 0, { timeoutMs: 30_000 });
      await page.getByRole('button', { name: 'Refresh' }).click();
      await expect.poll(() => heading.locator('.state').textContent()).toMatch(/^✗ failing \(\d+ attempts? in a row\)$/);
      expect(Number(await cell(page, 'ci', 'Events pending').textContent())).toBeGreaterThan(0);
      expect(await cell(page, 'ci', 'Last failure').textContent()).toMatch(/UTC: no answer \(.*ECONNREFUSED.*\)$/);
      await page.screenshot({ path: join(SCREENSHOTS, 'notifications-failing.png'), fullPage: true });
      await page.setViewportSize({ width: 390, height: 844 });
      expect(await page.evaluate('document.documentElement.scrollWidth <= innerWidth')).toBe(true);
    } finally {
      await reg.receiver.up();
    }
    await page.context().close();
  });
});
