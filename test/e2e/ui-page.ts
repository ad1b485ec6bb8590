/**
 * Pages of the web page's browser test (ui.test.ts): a page signed in through the login form, in a
 * browser context of its own, that records every Content-Security-Policy violation and every error
 * the page throws, so that closing it checks there were none; and the admin API's answers to
 * compare what a page shows with.
 */
import type { Browser, Page } from 'playwright-core';
import { expect } from 'vitest';
import { CONTENT_SECURITY_POLICY } from '../../src/ui/serve.js';
import { ACCOUNTS, type UiRegistry } from './ui-registry.js';

/** Runs in every page before its own scripts: keeps the CSP violations the browser reports (a string: it runs in the browser). */
const RECORD_VIOLATIONS = `
  window.__csp = [];
  document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline')));
`;

/** What the test does with pages. */
export interface Pages {
  /** a fresh page signed in as `account` through the login form (the answer to `/` checked: redirect, CSP) */
  signedIn(account: keyof typeof ACCOUNTS): Promise<Page>;
  /** the CSP violations `page` saw so far */
  violations(page: Page): Promise<string[]>;
  /** checks that `page` saw no CSP violation and threw no error, then closes its context */
  close(page: Page): Promise<void>;
  /** the admin API's answer to `path` as admin `ada` */
  admin<T>(path: string): Promise<T>;
}

/** {@link Pages} of the registry `reg` in `browser`. */
export function pages(reg: UiRegistry, browser: Browser): Pages {
  const errors = new WeakMap<Page, string[]>();
  const violations = (page: Page) => page.evaluate('window.__csp') as Promise<string[]>;
  return {
    async signedIn(account) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      await context.addInitScript({ content: RECORD_VIOLATIONS });
      const page = await context.newPage();
      const thrown: string[] = [];
      errors.set(page, thrown);
      page.on('pageerror', (e) => thrown.push(e.message));
      const answer = await page.goto(`${reg.wharf.url}/`);
      expect(page.url()).toBe(`${reg.wharf.url}/ui/`);
      expect(answer?.headers()['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
      await page.getByLabel('Account').fill(account);
      await page.getByLabel('Password').fill(ACCOUNTS[account]);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.locator('.who .account', { hasText: account }).waitFor();
      return page;
    },
    violations,
    async close(page) {
      expect(await violations(page)).toEqual([]);
      expect(errors.get(page)).toEqual([]);
      await page.context().close();
    },
    async admin<T>(path: string) {
      const res = await fetch(`${reg.wharf.url}${path}`, { headers: { Authorization: reg.basic('ada') } });
      expect(res.status).toBe(200);
      return (await res.json()) as T;
    },
  };
}

/** The exact bytes behind a size the page shows (its tooltip, `N bytes`). */
export async function bytesOf(page: Page, selector: string): Promise<number> {
  const title = await page.locator(selector).first().getAttribute('title');
  expect(title).toMatch(/^\d+ bytes$/);
  return Number(title!.split(' ')[0]);
}

/** A time as the page shows it: `YYYY-MM-DD hh:mm:ss UTC`. */
export function shownTime(iso: string): string {
  return `${new Date(iso).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}
