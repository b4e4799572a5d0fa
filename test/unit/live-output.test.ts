/** The pure parts of the live output: which stream URLs get the bearer, build lines made harmless, the bounded tail. */
import { describe, expect, it } from 'vitest';
import { boundedTail, harmless, TAIL_BYTES, usableStreamUrl } from '../../src/core/phases/live-output.js';

describe('usableStreamUrl', () => {
  it.each([
    ['wss://deployments.osc-fr1.scalingo.com/apps/my-app', 'wss://deployments.osc-fr1.scalingo.com/apps/my-app'],
    ['ws://127.0.0.1:4000/apps/my-app', 'ws://127.0.0.1:4000/apps/my-app'],
    ['ws://localhost:4000/apps/my-app', 'ws://localhost:4000/apps/my-app'],
    ['ws://deployments.osc-fr1.scalingo.com/apps/my-app', undefined],
    ['https://deployments.osc-fr1.scalingo.com/apps/my-app', undefined],
    ['wss://user:pass@deployments.osc-fr1.scalingo.com/apps/my-app', undefined],
    ['not a url', undefined],
    ['', undefined],
    [undefined, undefined],
  ])('%s -> %s', (link, expected) => {
    expect(usableStreamUrl(link)).toBe(expected);
  });
});

describe('harmless', () => {
  it('keeps ordinary lines as they are, colours included', () => {
    for (const line of ['-----> Build', '       added 412 packages in 9s', '\u001b[32mok\u001b[0m', 'a :: b', ''])
      expect(harmless(line)).toBe(line);
  });
  it('breaks workflow commands and section markers', () => {
    expect(harmless('::set-output name=x::y')).not.toMatch(/^\s*::/);
    expect(harmless('  ::stop-commands::abc')).not.toMatch(/^\s*::/);
    expect(harmless('\u001b[0Ksection_start:1:x\r\u001b[0Kx')).not.toContain('section_start:');
    expect(harmless('section_end:1:x')).not.toContain('section_end:');
  });
});

describe('boundedTail', () => {
  it('keeps the last 40 lines', () => {
    const lines = Array.from({ length: 100 }, (_, i) => `line ${i}`);
    expect(boundedTail(lines)).toBe(lines.slice(-40).join('\n'));
  });
  it('keeps within 64 KiB, dropping whole lines from the start', () => {
    const lines = Array.from({ length: 40 }, (_, i) => `${i} ${'x'.repeat(4000)}`);
    const tail = boundedTail(lines);
    expect(Buffer.byteLength(tail)).toBeLessThanOrEqual(TAIL_BYTES);
    expect(tail.endsWith(lines[39]!)).toBe(true);
    expect(tail.split('\n')[0]).toMatch(/^\d+ x+$/);
  });
  it('keeps the end of a single huge line, multi-byte characters included', () => {
    const tail = boundedTail([`${'é'.repeat(100_000)}END`]);
    expect(Buffer.byteLength(tail)).toBeLessThanOrEqual(TAIL_BYTES);
    expect(tail.endsWith('END')).toBe(true);
    expect(tail.startsWith('\u2026')).toBe(true);
  });
});
