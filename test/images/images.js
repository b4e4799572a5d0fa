#!/usr/bin/env node
// @ts-check
/**
 * @file `npm run images`: the README's pictures of the job summary and of the pull request comment, made from the
 * demo. It runs the demo (`npm run demo`, the built action against the fake Scalingo and a fake GitHub), takes the
 * push's job summary and the failed build's comment, fixes what changes from run to run (deployment ids, durations),
 * and writes them to docs/images/summary.md and comment.md; it renders each as GitHub would show it (Markdown to HTML
 * with `marked`, a GitHub-like style.css, `<details>` shown open) and takes a screenshot with headless Chromium
 * (Debian: `apt-get install -y chromium fonts-noto-color-emoji`) into summary.png and comment.png. images.json
 * records the SHA-256 of each source, of the style and of each picture: test/images/images.test.ts checks, without a
 * browser, that the sources are still what the demo gives and that the pictures were made from them.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const IMAGES = join(ROOT, 'docs/images');

/** The pictures: their source, and the browser window they are taken in. */
export const PICTURES = /** @type {const} */ ([
  { name: 'summary', title: 'Job summary of a push deploy', width: 820, height: 450 },
  { name: 'comment', title: 'Pull request comment of a failed build', width: 820, height: 620 },
]);

/** @param {string | Buffer} data */
export const sha256 = (data) => createHash('sha256').update(data).digest('hex');

/**
 * What changes from one run of the demo to the next, fixed: deployment ids (one fixed id per id met, in order) and
 * durations.
 * @param {string} text
 */
export function steady(text) {
  /** @type {Map<string, string>} */
  const ids = new Map();
  return text
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, (id) => {
      if (!ids.has(id)) ids.set(id, `5c0f1e2d-${String(ids.size + 1).padStart(4, '0')}-4a6b-9c8d-7e6f5a4b3c2d`);
      return /** @type {string} */ (ids.get(id));
    })
    .replace(/\bin \d+ s\b/g, 'in 3 s')
    .replace(/\bin \d+ min \d+ s\b/g, 'in 3 s');
}

/** Runs the demo and returns the two sources, steadied. */
export function demoSources() {
  const dir = mkdtempSync(join(tmpdir(), 'scalingo-images-'));
  try {
    const results = join(dir, 'results.json');
    const run = spawnSync(process.execPath, [join(ROOT, 'test/demo.js')], {
      env: { ...process.env, DEMO_RESULTS: results },
      encoding: 'utf8',
      timeout: 120_000,
    });
    if (run.status !== 0) throw new Error(`the demo failed (exit ${run.status}):\n${run.stdout}\n${run.stderr}`);
    const { summary, comment } = JSON.parse(readFileSync(results, 'utf8'));
    return { summary: steady(summary), comment: steady(comment) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * @param {string} markdown
 * @param {string} title
 */
async function page(markdown, title) {
  const { marked } = await import('marked');
  const body = String(await marked.parse(markdown, { gfm: true })).replace(/<details>/g, '<details open>');
  const style = readFileSync(join(IMAGES, 'style.css'), 'utf8');
  return `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title><style>${style}</style></head><body><main class="markdown-body">${body}</main></body></html>`;
}

function chromium() {
  for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
    const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).stdout.trim();
    if (found) return found;
  }
  throw new Error('no Chromium: apt-get install -y chromium fonts-noto-color-emoji');
}

async function main() {
  const browser = chromium();
  const sources = demoSources();
  const record = /** @type {Record<string, string>} */ ({
    'style.css': sha256(readFileSync(join(IMAGES, 'style.css'))),
  });
  const dir = mkdtempSync(join(tmpdir(), 'scalingo-images-'));
  try {
    for (const picture of PICTURES) {
      const markdown = sources[picture.name];
      writeFileSync(join(IMAGES, `${picture.name}.md`), markdown);
      const html = join(dir, `${picture.name}.html`);
      writeFileSync(html, await page(markdown, picture.title));
      const png = join(IMAGES, `${picture.name}.png`);
      execFileSync(
        browser,
        [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--hide-scrollbars',
          '--force-device-scale-factor=1',
          '--font-render-hinting=none',
          `--window-size=${picture.width},${picture.height}`,
          `--screenshot=${png}`,
          pathToFileURL(html).href,
        ],
        { stdio: 'pipe' },
      );
      record[`${picture.name}.md`] = sha256(markdown);
      record[`${picture.name}.png`] = sha256(readFileSync(png));
      console.log(`docs/images/${picture.name}.png (${picture.width}x${picture.height})`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  writeFileSync(join(IMAGES, 'images.json'), `${JSON.stringify(record, null, 2)}\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
