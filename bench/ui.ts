/**
 * `npm run bench:ui`: how fast the web page's lists show their first screen in Debian's headless
 * chromium (Playwright) on a large registry: 10,000 repositories of 10 tags and one repository of
 * 10,000 tags (issue 17: "the first screen of each list renders within 1 s"), the content written
 * straight into Wharf's storage layout (bench/scale/), served by the real `wharf serve`. Each
 * measure is the browser's own time (`performance.now()` in the page) from the action (navigation,
 * click, typing) until the list shows the rows of the answer, in several rounds; the table gives the median and range, and the page's JavaScript
 * gzipped. Every round starts a new `wharf serve` (its admin index from the snapshot, as after a
 * deploy; the files are in the OS's page cache): the first open of each list after that start is
 * its own row (what a user sees first after every restart), with the server's CPU time for it
 * (/proc, which the machine's load does not bend as it bends wall-clock times); the rows after it
 * are the same lists opened again. No other registry serves this page, so there is no side-by-side ratio here: the
 * admin API's own answer times (same requests, no browser) are given beside the page's.
 * Options: `--repositories N`, `--tags N`, `--rounds N`, `--keep` (keep the registry's files in
 * .tmp/bench-ui for the next run).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { chromium, type Page } from 'playwright-core';
import { TALL_NAME, tallRepository, wideRepository } from './scale/content.js';
import { wharfWriter } from './scale/layouts.js';
import { formatSummary, summarize } from './stats.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const REPOSITORIES = option('repositories', 10_000);
const TAGS = option('tags', 10_000);
const ROUNDS = option('rounds', 5);
const KEEP = args.includes('--keep');
const ROOT = resolve('.tmp/bench-ui');
const PORT = option('port', 5491);
const BASE = `http://127.0.0.1:${PORT}`;

/** Writes the registry once per size (a marker file names the size it holds). */
function fill(): void {
  const marker = join(ROOT, `filled-${REPOSITORIES}-${TAGS}`);
  if (existsSync(marker)) return;
  rmSync(ROOT, { recursive: true, force: true });
  const writer = wharfWriter(join(ROOT, 'storage'));
  const started = Date.now();
  for (let i = 0; i < REPOSITORIES; i++) writer.write(wideRepository(i));
  for (const part of tallRepository(TAGS)) writer.write(part);
  writeFileSync(marker, '');
  console.log(`wrote ${REPOSITORIES} repositories and ${TALL_NAME} with ${TAGS} tags in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

/** A `wharf serve` started by {@link serve}: its CPU time so far, and its stop. */
interface Server {
  /** user + system CPU time of the process, ms */
  cpuMs(): number;
  stop(): Promise<void>;
}

/** Starts `wharf serve` on the filled storage and waits until its admin index is built. */
async function serve(): Promise<Server> {
  const config = join(ROOT, 'wharf.yaml');
  writeFileSync(config, `log: {level: warn}\nhttp: {addr: "127.0.0.1:${PORT}"}\nstorage: {filesystem: {rootdirectory: ${JSON.stringify(join(ROOT, 'storage'))}}}\n`);
  const child = spawn(process.execPath, ['dist/src/main.js', 'serve', '-c', config], { stdio: ['ignore', 'inherit', 'inherit'] });
  const deadline = Date.now() + 600_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`wharf serve exited with ${child.exitCode}`);
    try {
      const status = (await (await fetch(`${BASE}/admin/v1/index`)).json()) as { state: string };
      if (status.state === 'ready') break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error('the admin index was not ready within 10 minutes');
    await new Promise((r) => setTimeout(r, 200));
  }
  const ticks = 100; // USER_HZ on Linux
  return {
    cpuMs: () => {
      const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticks; // utime, stime (fields 14 and 15 of stat)
    },
    stop: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * Runs in the page from its first script on (a string: it runs in the browser, not here): records
 * each change of the list's first row (its text, and whether the list is loading) with
 * `performance.now()` (ms since the navigation started), so times are the browser's own, without
 * the driver's round trips.
 */
const RECORD_ROWS = `
  const log = [];
  window.__rows = log;
  new MutationObserver(() => {
    const table = document.querySelector('table.list');
    const text = table?.querySelector('tbody tr')?.textContent ?? '';
    const busy = table?.getAttribute('aria-busy') !== 'false';
    const last = log.at(-1);
    if (!last || last.busy !== busy || last.text !== text) log.push({ t: performance.now(), busy, text });
  }).observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
`;

/** Ms from `since` (page time) until the list, loading again after `since` (or first loaded, for 0), showed a first row holding `text`. */
async function shown(page: Page, since: number, text: string): Promise<number> {
  const handle = await page.waitForFunction(
    ({ since, text }) => {
      const rows = (globalThis as unknown as { __rows: { t: number; busy: boolean; text: string }[] }).__rows;
      const after = rows.filter((e) => e.t > since);
      const loading = after.findIndex((e) => e.busy);
      const hit = since === 0 ? after.find((e) => !e.busy && e.text.includes(text)) : after.slice(loading + 1).find((e) => loading >= 0 && !e.busy && e.text.includes(text));
      return hit ? hit.t - since : false;
    },
    { since, text },
    { polling: 50, timeout: 30_000 },
  );
  return (await handle.jsonValue()) as number;
}

/** Runs `body` in the page right after taking the page time, which it returns. */
function at(page: Page, body: string): Promise<number> {
  return page.evaluate(`(() => { const t = performance.now(); ${body}; return t; })()`) as Promise<number>;
}

/** Clicks the button whose text starts with `label`; returns the page time of the click. */
const click = (page: Page, label: string) => at(page, `[...document.querySelectorAll('button')].find((b) => b.textContent.trim().startsWith(${JSON.stringify(label)})).click()`);

/** Types `text` into the filter box; returns the page time of the input. */
const type = (page: Page, text: string) =>
  at(page, `const i = document.querySelector('input[type="search"]'); i.value = ${JSON.stringify(text)}; i.dispatchEvent(new Event('input', { bubbles: true }))`);

/** Switches the view by the URL fragment; returns the page time of the switch. */
const go = (page: Page, hash: string) => at(page, `location.hash = ${JSON.stringify(hash)}`);

/** The first open of each list on a server just started (a fresh page), with the server's CPU time for each. */
async function firstOpens(page: Page, server: Server, add: (metric: string, ms: number) => void): Promise<void> {
  await page.addInitScript({ content: RECORD_ROWS });
  let cpu = server.cpuMs();
  await page.goto(`${BASE}/ui/#/`);
  add('repositories: first screen, first open after a start (page load)', await shown(page, 0, TALL_NAME));
  add('repositories: server CPU ms of that first open', server.cpuMs() - cpu);
  cpu = server.cpuMs();
  add('tags: first screen, first open after a start (open the repository)', await shown(page, await go(page, `#/r/${encodeURIComponent(TALL_NAME)}`), 't000000'));
  add('tags: server CPU ms of that first open', server.cpuMs() - cpu);
}

/** Every measure again, on a fresh page (nothing cached between rounds but the server's sorted views and tag rows). */
async function round(page: Page, add: (metric: string, ms: number) => void): Promise<void> {
  await page.addInitScript({ content: RECORD_ROWS });
  await page.goto(`${BASE}/ui/#/`);
  add('repositories: first screen (page load, from navigation start)', await shown(page, 0, TALL_NAME));
  add('repositories: sort by total bytes', await shown(page, await click(page, 'Total'), TALL_NAME));
  add('repositories: next page', await shown(page, await click(page, 'Next'), '/app'));
  const lastWide = `app${REPOSITORIES - 1}`;
  add('repositories: filter (250 ms typing pause included)', await shown(page, await type(page, lastWide), lastWide));
  add('tags: first screen (open the repository)', await shown(page, await go(page, `#/r/${encodeURIComponent(TALL_NAME)}`), 't000000'));
  add('tags: sort by push time, newest first', await shown(page, await click(page, 'Pushed'), `t${String(TAGS - 1).padStart(6, '0')}`));
  add('tags: next page', await shown(page, await click(page, 'Next'), 't0'));
}

/** The admin API's answer time for the same first screens, without a browser. */
async function apiRound(add: (metric: string, ms: number) => void): Promise<void> {
  const get = async (path: string) => {
    const t0 = performance.now();
    await (await fetch(`${BASE}${path}`)).arrayBuffer();
    return performance.now() - t0;
  };
  add('API: repositories?n=50', await get('/admin/v1/repositories?n=50&sort=name&order=asc'));
  add('API: repositories?n=50&sort=total&order=desc', await get('/admin/v1/repositories?n=50&sort=total&order=desc'));
  add(`API: ${TALL_NAME}/tags?n=50`, await get(`/admin/v1/repositories/${TALL_NAME}/tags?n=50&sort=name&order=asc`));
  add(`API: ${TALL_NAME}/tags?n=50&sort=pushedAt&order=desc`, await get(`/admin/v1/repositories/${TALL_NAME}/tags?n=50&sort=pushedAt&order=desc`));
}

async function main(): Promise<void> {
  if (!existsSync('dist/ui/app.js')) throw new Error('run npm run build first (dist/ui/app.js is missing)');
  mkdirSync(ROOT, { recursive: true });
  fill();
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  const samples = new Map<string, number[]>();
  const add = (metric: string, ms: number) => samples.set(metric, [...(samples.get(metric) ?? []), ms]);
  try {
    for (let r = 0; r < ROUNDS; r++) {
      const server = await serve();
      try {
        for (const measure of [(page: Page) => firstOpens(page, server, add), (page: Page) => round(page, add)]) {
          const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
          await measure(await context.newPage());
          await context.close();
        }
        await apiRound(add);
      } finally {
        await server.stop();
      }
    }
  } finally {
    await browser.close();
  }
  const js = readFileSync('dist/ui/app.js');
  const lines = [
    `Web page on ${REPOSITORIES} repositories (10 tags each) and ${TALL_NAME} with ${TAGS} tags; ${ROUNDS} rounds; pages of 50 rows.`,
    '',
    '| measure | ms, median (min..max) | target |',
    '|---|---|---|',
    ...[...samples].map(([metric, values]) => `| ${metric} | ${formatSummary(summarize(values))} | ${metric.includes('first screen') ? '< 1000' : ''} |`),
    '',
    `Load average at the end: ${loadavg().map((l) => l.toFixed(1)).join(' ')} (${cpus().length} cores); wall-clock times bend with it, the server's CPU times much less.`,
    '',
    `JavaScript: ${js.length} bytes, ${gzipSync(js).length} bytes gzipped (target < 150 KiB = 153600).`,
  ];
  const report = lines.join('\n');
  console.log(report);
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(`bench/results/ui-${new Date().toISOString().slice(0, 19).replace(/:/g, '')}.md`, `${report}\n`);
  if (!KEEP) rmSync(ROOT, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  console.error(`bench:ui failed: ${(err as Error).stack ?? String(err)}`);
  process.exitCode = 1;
});
