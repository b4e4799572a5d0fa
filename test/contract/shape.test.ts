/** The shape comparison finds each kind of difference, and only differences. */
import { describe, expect, it } from 'vitest';
import { compareAnswer, compareShapes, shapeFromModel, shapeOf, valuesAt, type Answer } from './shape.js';

const link = {
  scm_repo_link: {
    id: 'a',
    branch: 'main',
    auto_deploy_enabled: true,
    hours_before_delete_stale: 0,
    created_at: '2018-05-09T12:53:52.276+02:00',
    linker: { id: 'us-1', email: 'john.doe@example.com' },
  },
};
const expected = { status: 200, content: 'json' as const, shape: shapeOf(link) };
const json = (body: unknown, status = 200): Answer => ({ status, content: 'json', body });

function kinds(body: unknown, rules = {}) {
  return compareAnswer(expected, json(body), rules).map((d) => `${d.path} ${d.kind}`);
}

describe('compareAnswer', () => {
  it('finds nothing in an answer of the same shape with other values', () => {
    expect(
      kinds({
        scm_repo_link: {
          ...link.scm_repo_link,
          id: 'b',
          branch: 'prod',
          auto_deploy_enabled: false,
          hours_before_delete_stale: 24,
          created_at: '2026-01-01T00:00:00Z',
        },
      }),
    ).toEqual([]);
  });

  it('finds a missing key, an extra key, another type, a null, a date that is not one', () => {
    const { id: _id, ...rest } = link.scm_repo_link;
    expect(
      kinds({
        scm_repo_link: {
          ...rest,
          url: 'https://github.com',
          auto_deploy_enabled: 'true',
          hours_before_delete_stale: null,
          created_at: 'yesterday',
        },
      }),
    ).toEqual([
      'scm_repo_link.id missing',
      'scm_repo_link.auto_deploy_enabled type',
      'scm_repo_link.hours_before_delete_stale null',
      'scm_repo_link.created_at format',
      'scm_repo_link.url extra',
    ]);
  });

  it('finds another wrapping: the object unwrapped, or in a list', () => {
    expect(kinds(link.scm_repo_link)).toContain('scm_repo_link missing');
    expect(kinds({ scm_repo_link: [link.scm_repo_link] })).toEqual(['scm_repo_link type']);
  });

  it('takes a documented null as "may be null", and nullable paths as allowed nulls', () => {
    const withNull = {
      status: 200,
      content: 'json' as const,
      shape: shapeOf({ meta: { next_page: null, prev_page: 2 } }),
    };
    expect(compareAnswer(withNull, json({ meta: { next_page: 3, prev_page: null } }))).toHaveLength(1);
    expect(
      compareAnswer(withNull, json({ meta: { next_page: 3, prev_page: null } }), {
        nullable: { 'meta.prev_page': 'docs' },
      }),
    ).toEqual([]);
  });

  it('compares the status and the kind of body before the shape', () => {
    expect(compareAnswer(expected, json(link, 201))).toEqual([
      { path: '', kind: 'status', expected: '200', actual: '201' },
    ]);
    expect(
      compareAnswer({ status: 429, content: 'text' }, { status: 429, content: 'json', body: { error: 'x' } })[0]?.kind,
    ).toBe('content');
    expect(
      compareAnswer({ status: 429, content: 'text' }, { status: 429, content: 'text', body: 'Retry later' }),
    ).toEqual([]);
  });

  it('compares every element of a list, and says when a list is empty', () => {
    const list = { status: 200, content: 'json' as const, shape: shapeOf({ items: [{ id: 'a', n: 1 }] }) };
    expect(
      compareAnswer(
        list,
        json({
          items: [
            { id: 'b', n: 2 },
            { id: 'c', n: 'x' },
          ],
        }),
      ).map((d) => `${d.path} ${d.kind}`),
    ).toEqual(['items[].n type']);
    expect(compareAnswer(list, json({ items: [] })).map((d) => d.kind)).toEqual(['empty']);
  });

  it('compares the entries of a map whatever their keys', () => {
    const rules = { maps: { errors: 'field names' } };
    const errors = {
      status: 422,
      content: 'json' as const,
      shape: shapeOf({ errors: { app: ['missing field'] } }, new Set(['errors'])),
    };
    expect(
      compareAnswer(
        errors,
        { status: 422, content: 'json', body: { errors: { source: ["can't be blank"], branch: ['is invalid'] } } },
        rules,
      ),
    ).toEqual([]);
    expect(
      compareAnswer(
        errors,
        { status: 422, content: 'json', body: { errors: { source: "can't be blank" } } },
        rules,
      ).map((d) => `${d.path} ${d.kind}`),
    ).toEqual(['errors.* type']);
  });

  it('checks documented forms of values', () => {
    const rules = { formats: [{ path: 'items[].branch', pattern: '^[^:]+:.+$', reason: 'owner:branch' }] };
    const list = { status: 200, content: 'json' as const, shape: shapeOf({ items: [{ branch: 'Scalingo:my-fix' }] }) };
    expect(compareAnswer(list, json({ items: [{ branch: 'octo:fix' }] }), rules)).toEqual([]);
    expect(
      compareAnswer(list, json({ items: [{ branch: 'octo:fix' }, { branch: 'fix' }] }), rules).map(
        (d) => `${d.path} ${d.kind} ${d.actual}`,
      ),
    ).toEqual(['items[].branch format "fix"']);
  });
});

describe('shapes', () => {
  it('reads a model written by hand as an example of the same shape', () => {
    expect(
      compareShapes(
        shapeFromModel({ error: 'string', at: 'date', list: ['number'] }),
        shapeOf({ error: 'x', at: '2020-01-01T00:00:00Z', list: [1] }),
      ),
    ).toEqual([]);
    expect(() => shapeFromModel({ error: 'text' })).toThrow(/unknown type/);
  });

  it('finds the values at a path through lists and maps', () => {
    expect(valuesAt({ a: [{ b: 1 }, { b: 2 }], m: { x: { c: 3 }, y: { c: 4 } } }, 'a[].b')).toEqual([1, 2]);
    expect(valuesAt({ m: { x: { c: 3 }, y: { c: 4 } } }, 'm.*.c')).toEqual([3, 4]);
  });
});
