/**
 * The README's pictures are in step with the product, without a browser: the demo still gives the sources they were
 * made from (docs/images/*.md), and each picture's hash is the one recorded when it was made from those sources and
 * that style (docs/images/images.json). A change to the summary or the comment fails here until `npm run images`
 * made the pictures again.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { demoSources, IMAGES, PICTURES, sha256, steady } from './images.js';

const recorded = JSON.parse(readFileSync(join(IMAGES, 'images.json'), 'utf8')) as Record<string, string>;
const AGAIN = 'run `npm run images` (it needs Chromium) and commit docs/images/';

describe("the README's pictures", () => {
  it('are made from what the demo shows today', () => {
    const sources: Record<string, string> = demoSources();
    for (const { name } of PICTURES) {
      expect(sources[name], `docs/images/${name}.md is not what the demo gives any more: ${AGAIN}`).toBe(
        readFileSync(join(IMAGES, `${name}.md`), 'utf8'),
      );
    }
  }, 120_000);

  it('were taken from these sources and this style', () => {
    expect(sha256(readFileSync(join(IMAGES, 'style.css'))), `docs/images/style.css changed: ${AGAIN}`).toBe(
      recorded['style.css'],
    );
    for (const { name } of PICTURES) {
      expect(sha256(readFileSync(join(IMAGES, `${name}.md`), 'utf8')), `docs/images/${name}.md changed: ${AGAIN}`).toBe(
        recorded[`${name}.md`],
      );
      expect(
        sha256(readFileSync(join(IMAGES, `${name}.png`))),
        `docs/images/${name}.png is not the one made: ${AGAIN}`,
      ).toBe(recorded[`${name}.png`]);
    }
  });

  it('fix what changes from run to run, and nothing else', () => {
    const id = '77d56767-3159-4155-802c-a12d577da447';
    expect(steady(`\`success\` in 12 s (\`${id}\`) of ${id}, built 6113728`)).toBe(
      '`success` in 3 s (`5c0f1e2d-0001-4a6b-9c8d-7e6f5a4b3c2d`) of 5c0f1e2d-0001-4a6b-9c8d-7e6f5a4b3c2d, built 6113728',
    );
  });
});
