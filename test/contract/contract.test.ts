/**
 * The contract with Scalingo: the project's fake answers every request the product sends with the shape Scalingo
 * documents (test/contract/fixtures/, each quoted from Scalingo's docs or official clients at a named commit): the
 * same keys, types, nesting, list wrapping, pagination, statuses and error bodies, but for the differences listed,
 * each with its reason, in test/contract/differences.js. The fake runs in-process; nothing leaves 127.0.0.1.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { startFakeScalingo } from '../support/fake-scalingo.js';
import { collectFakeAnswers, contractFakeOptions, FAKE_TOKEN, type FakeAnswer } from './fake-answers.js';
import { ALLOWED_DIFFERENCES, allowedFor, keysOf, type AllowedDifference } from './differences.js';
import { expectedAnswers, readFixtures, type Source } from './fixtures.js';
import { compareAnswer, formatDifference, type Difference } from './shape.js';
import { basic, call } from './wire.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const OFFICIAL = ['Scalingo/developers-documentation', 'Scalingo/go-scalingo', 'Scalingo/scalingo.js', 'Scalingo/cli'];
const fixtures = readFixtures();
const expected = expectedAnswers(fixtures);

/** Every difference between the fake's answers and a documented one, once each. */
function differencesOf(name: string, answers: FakeAnswer[]): Difference[] {
  const doc = expected.get(name);
  if (!doc) throw new Error(`no fixture ${name}`);
  const seen = new Map<string, Difference>();
  for (const answer of answers) {
    for (const difference of compareAnswer(doc, answer, doc.rules))
      seen.set(`${difference.path}|${difference.kind}`, difference);
  }
  return [...seen.values()];
}

/** `METHOD /template` of every request src/scalingo/ sends, read from its source. */
function productEndpoints(): string[] {
  const endpoints = new Set<string>();
  for (const file of ['client.ts', 'auth.ts']) {
    const text = readFileSync(join(ROOT, 'src/scalingo', file), 'utf8');
    const constants = new Map([...text.matchAll(/const (\w+) = '([^']+)'/g)].map((m) => [m[1]!, `'${m[2]!}'`]));
    for (const chunk of text.split(/\n\s+(?:async )?\w+\([^)]*\)[^{\n]*\{\n/)) {
      const local = /(?:const|let) path = (.+);/.exec(chunk)?.[1];
      for (const call of chunk.matchAll(
        /method: '([A-Z]+)',\s*service: '(?:api|auth)',\s*path(?::\s*(this\.appPath\([^)]*\)|[^,]+))?,/g,
      )) {
        const expression = call[2] ?? local;
        if (!expression) throw new Error(`${file}: a request whose path is not found: ${call[0]}`);
        endpoints.add(`${call[1]} ${template(constants.get(expression) ?? expression)}`);
      }
    }
  }
  return [...endpoints].sort();
}

function template(expression: string): string {
  let path = expression.trim();
  const app = /^this\.appPath\(\w+(?:, (.+))?\)$/.exec(path);
  if (app) path = `/v1/apps/:app${app[1] ? app[1].slice(1, -1) : ''}`;
  else path = path.slice(1, -1);
  return path.replace(/\$\{encodeURIComponent\([^)]*\)\}/g, ':id').replace(/\?.*$/, '');
}

describe("the fixtures: Scalingo's documented answers", () => {
  it.each(fixtures.map((f) => [f.answer, f] as const))(
    '%s names its source in an official Scalingo repository',
    (_name, fixture) => {
      const sources: Source[] = [
        fixture.source,
        ...(fixture.otherSources ?? []),
        ...Object.values(fixture.frames ?? {}).flatMap((f) => [f.source, ...(f.otherSources ?? [])]),
      ];
      for (const source of sources) {
        expect(OFFICIAL).toContain(source.repository);
        expect(source.commit).toMatch(/^[0-9a-f]{40}$/);
        expect(source.path).not.toBe('');
        expect(source.lines).toMatch(/^\d+(-\d+)?$/);
      }
    },
  );

  it('say which source the fake follows wherever the sources disagree', () => {
    const notes = fixtures
      .flatMap((f) => [f.sourcesDisagree, ...Object.values(f.frames ?? {}).map((frame) => frame.sourcesDisagree)])
      .filter((n) => n !== undefined);
    expect(notes.length).toBeGreaterThanOrEqual(5);
    for (const note of notes) expect(note).toMatch(/the fake follows?/i);
  });

  it('cover every endpoint the product calls', () => {
    const endpoints = productEndpoints();
    // The read of src/scalingo/ must keep finding the product's requests: if it finds fewer, fix the read.
    expect(endpoints.length).toBeGreaterThanOrEqual(15);
    const documented = new Set(fixtures.map((f) => f.request));
    expect(endpoints.filter((endpoint) => !documented.has(endpoint))).toEqual([]);
  });

  it("cover every error the product handles, the deployments stream's frames included", () => {
    for (const name of [
      'error-401',
      'error-402',
      'error-404',
      'error-404-unnamed',
      'error-422',
      'error-429',
      'stream-auth',
      'stream-new',
      'stream-log',
      'stream-status',
      'stream-ping',
    ]) {
      expect(expected.has(name), name).toBe(true);
    }
    expect(expected.get('error-429')?.content).toBe('text');
  });
});

describe('the fake answers as Scalingo documents', () => {
  let answers: Map<string, FakeAnswer[]>;
  beforeAll(async () => {
    answers = await collectFakeAnswers();
  });

  it.each([...expected.keys()])('%s: same shape, but for the listed differences', (name) => {
    const got = answers.get(name) ?? [];
    expect(got.length, `the fake was not asked for ${name} (test/contract/fake-answers.js)`).toBeGreaterThan(0);
    const unlisted = differencesOf(name, got)
      .filter((d) => !allowedFor(name, d))
      .map((d) => formatDifference(name, d));
    expect(
      unlisted,
      "differences from Scalingo's documented answer: make the fake answer as documented, or list the difference with its reason in test/contract/differences.js",
    ).toEqual([]);
  });

  it('lists only differences that still exist (remove an entry once the fake answers as documented)', () => {
    const found = new Set<string>();
    for (const [name, got] of answers) {
      if (!expected.has(name)) continue;
      for (const d of differencesOf(name, got)) found.add(`${name}|${d.path}|${d.kind}`);
    }
    const stale = (entry: AllowedDifference): string[] => {
      const keys = keysOf(entry);
      const answersOf = [...new Set(keys.map((k) => k.split('|')[0]!))];
      const pathsOf = [...new Set(keys.map((k) => k.split('|')[1]!))];
      return [
        ...answersOf.filter((a) => !keys.some((k) => k.startsWith(`${a}|`) && found.has(k))).map((a) => `answer ${a}`),
        ...pathsOf
          .filter((p) => !keys.some((k) => k.split('|')[1] === p && found.has(k)))
          .map((p) => `path ${p || '(answer)'}`),
      ].map((what) => `${entry.kind} ${[entry.answer].flat().join(', ')}: ${what} no longer differs`);
    };
    expect(ALLOWED_DIFFERENCES.flatMap(stale)).toEqual([]);
  });

  it('gets no answer that no fixture documents', () => {
    expect([...answers.keys()].filter((name) => !expected.has(name))).toEqual([]);
  });
});

describe('the fake paginates as Scalingo documents', () => {
  // Scalingo/developers-documentation _scalingo_api/index.md (Pagination): `page`, `per_page`, and
  // meta.pagination {current_page, prev_page, next_page, total_pages, total_count}, prev_page and next_page null when
  // there is no previous or next page.
  it('walks the list of links page after page with next_page, to a null next_page', async () => {
    const fake = await startFakeScalingo(contractFakeOptions());
    try {
      const exchange = await call(fake.authUrl, 'POST', '/v1/tokens/exchange', {
        authorization: basic(FAKE_TOKEN),
        body: {},
      });
      const authorization = `Bearer ${(exchange.body as { token: string }).token}`;
      const pages: {
        current_page: number;
        prev_page: number | null;
        next_page: number | null;
        total_pages: number;
        total_count: number;
      }[] = [];
      const ids: string[] = [];
      for (let page: number | null = 1; page !== null && pages.length < 10;) {
        const answer = await call(fake.apiUrl, 'GET', `/v1/scm_repo_links?page=${page}&per_page=1`, { authorization });
        const body = answer.body as { scm_repo_links: { id: string }[]; meta: { pagination: (typeof pages)[number] } };
        pages.push(body.meta.pagination);
        ids.push(...body.scm_repo_links.map((l) => l.id));
        page = body.meta.pagination.next_page;
      }
      const count = ids.length;
      expect(count).toBeGreaterThanOrEqual(3);
      expect(new Set(ids).size).toBe(count);
      expect(pages).toEqual(
        ids.map((_, i) => ({
          current_page: i + 1,
          prev_page: i === 0 ? null : i,
          next_page: i + 1 === count ? null : i + 2,
          total_pages: count,
          total_count: count,
        })),
      );
    } finally {
      await fake.close();
    }
  });
});

describe('the list of differences', () => {
  it.each(ALLOWED_DIFFERENCES.map((entry, i) => [i + 1, entry] as const))(
    'entry %i names documented answers and gives its reason',
    (_i, entry) => {
      for (const name of [entry.answer].flat()) expect(expected.has(name), name).toBe(true);
      expect(entry.reason.length).toBeGreaterThan(40);
      if (entry.why === 'fake-behind') expect(entry.until ?? '').not.toBe('');
      if (entry.why === 'sources-disagree') expect(entry.reason).toMatch(/the fake follows/i);
    },
  );
});
