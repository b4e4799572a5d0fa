// @ts-check
/**
 * @file The shape of an answer: which keys, which JSON types, how things nest, how lists are wrapped; not the values.
 * Used to compare an answer of the project's fake (or of the real Scalingo, in the live suite) with the answer
 * Scalingo documents (test/contract/fixtures/). Pure: no I/O.
 *
 * A path names a place in a body: `scm_repo_link.linker.email`, `review_apps[].pull_request` (any element of a
 * list), `errors.*` (any entry of an object used as a map, such as the field names of a 422's `errors`).
 */

/**
 * @typedef {{ t: 'string', date?: boolean } | { t: 'number' } | { t: 'boolean' } | { t: 'null' } | { t: 'any' }
 *   | { t: 'array', of: Shape | null } | { t: 'map', of: Shape | null } | { t: 'object', keys: Record<string, Shape> }
 *   | { t: 'mixed', of: Shape[] }} Shape
 * `null` in an example says "may be null" and nothing of the type it has otherwise; `array.of`/`map.of` is null for an
 * empty list. `date`: an ISO 8601 date-time string (Scalingo's documented date format). `mixed`: a list whose elements
 * differ in type.
 */

/**
 * A difference between an expected and an actual answer.
 * - `status`, `content` (json, text, empty): the answer itself differs, its body is not compared;
 * - `missing` (expected, absent), `extra` (present, not expected), `type`, `null` (null where a value is expected),
 *   `empty` (an empty list: its elements cannot be compared), `format` (a value that does not match the documented
 *   form, e.g. not a date).
 * @typedef {{ path: string, kind: 'status' | 'content' | 'missing' | 'extra' | 'type' | 'null' | 'empty' | 'format',
 *   expected: string, actual: string }} Difference
 */

/**
 * An answer as received: status, the kind of body, and the body (parsed JSON, or the text).
 * @typedef {{ status: number, content: 'json' | 'text' | 'empty', body: unknown }} Answer
 */

/**
 * What a fixture says about its answer, beyond the example: which values may be null, which objects are maps, which
 * values have a documented form.
 * @typedef {object} ShapeRules
 * @property {Record<string, string>} [nullable] Path → why it may be null.
 * @property {Record<string, string>} [maps] Path → why it is a map (keys vary).
 * @property {{ path: string, pattern: string, reason: string }[]} [formats]
 */

const DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$/;

/**
 * @param {unknown} value
 * @returns {value is Record<string, unknown>}
 */
export function isRecord(value) {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * @param {string} path
 * @param {string} key
 */
const join = (path, key) => (path === '' ? key : `${path}.${key}`);

/**
 * The shape of a JSON value.
 * @param {unknown} value
 * @param {Set<string>} [maps] Paths of objects whose keys vary.
 * @param {string} [path]
 * @returns {Shape}
 */
export function shapeOf(value, maps = new Set(), path = '') {
  if (value === null || value === undefined) return { t: 'null' };
  if (typeof value === 'string') return DATE.test(value) ? { t: 'string', date: true } : { t: 'string' };
  if (typeof value === 'number') return { t: 'number' };
  if (typeof value === 'boolean') return { t: 'boolean' };
  if (Array.isArray(value)) {
    return { t: 'array', of: mergeAll(value.map((item) => shapeOf(item, maps, `${path}[]`))) };
  }
  const record = /** @type {Record<string, unknown>} */ (value);
  if (maps.has(path))
    return { t: 'map', of: mergeAll(Object.values(record).map((item) => shapeOf(item, maps, join(path, '*')))) };
  /** @type {Record<string, Shape>} */
  const keys = {};
  for (const [key, item] of Object.entries(record)) keys[key] = shapeOf(item, maps, join(path, key));
  return { t: 'object', keys };
}

/**
 * A shape written by hand from an official client's model, where no example exists: `"string"`, `"date"`,
 * `"number"`, `"boolean"`, `"null"`, `"any"`, an object of such, or a one-element list (`["string"]`).
 * @param {unknown} notation
 * @param {Set<string>} [maps]
 * @param {string} [path]
 * @returns {Shape}
 */
export function shapeFromModel(notation, maps = new Set(), path = '') {
  if (typeof notation === 'string') {
    switch (notation) {
      case 'string':
        return { t: 'string' };
      case 'date':
        return { t: 'string', date: true };
      case 'number':
        return { t: 'number' };
      case 'boolean':
        return { t: 'boolean' };
      case 'null':
        return { t: 'null' };
      case 'any':
        return { t: 'any' };
      default:
        throw new TypeError(`unknown type "${notation}" in a model at ${path || 'the root'}`);
    }
  }
  if (Array.isArray(notation)) {
    if (notation.length !== 1) throw new TypeError(`a list in a model has one element, at ${path || 'the root'}`);
    return { t: 'array', of: shapeFromModel(notation[0], maps, `${path}[]`) };
  }
  if (!isRecord(notation)) throw new TypeError(`invalid model at ${path || 'the root'}`);
  if (maps.has(path)) {
    const values = Object.values(notation);
    return { t: 'map', of: values[0] === undefined ? null : shapeFromModel(values[0], maps, join(path, '*')) };
  }
  /** @type {Record<string, Shape>} */
  const keys = {};
  for (const [key, item] of Object.entries(notation)) keys[key] = shapeFromModel(item, maps, join(path, key));
  return { t: 'object', keys };
}

/**
 * @param {Shape[]} shapes
 * @returns {Shape | null}
 */
function mergeAll(shapes) {
  return shapes.reduce(
    /** @param {Shape | null} merged */ (merged, shape) => (merged === null ? shape : merge(merged, shape)),
    null,
  );
}

/**
 * One shape for two elements of a list.
 * @param {Shape} a
 * @param {Shape} b
 * @returns {Shape}
 */
function merge(a, b) {
  if (a.t === 'null') return b;
  if (b.t === 'null') return a;
  if (a.t === 'object' && b.t === 'object') {
    /** @type {Record<string, Shape>} */
    const keys = { ...a.keys };
    for (const [key, shape] of Object.entries(b.keys)) keys[key] = keys[key] ? merge(keys[key], shape) : shape;
    return { t: 'object', keys };
  }
  if ((a.t === 'array' && b.t === 'array') || (a.t === 'map' && b.t === 'map')) {
    const of = a.of === null ? b.of : b.of === null ? a.of : merge(a.of, b.of);
    return { t: a.t, of };
  }
  if (a.t === 'string' && b.t === 'string') return a.date && b.date ? a : { t: 'string' };
  if (a.t === b.t) return a;
  const members = [...(a.t === 'mixed' ? a.of : [a]), ...(b.t === 'mixed' ? b.of : [b])];
  return { t: 'mixed', of: members };
}

/**
 * A short name of a shape, for messages.
 * @param {Shape | null | undefined} shape
 * @returns {string}
 */
export function describe(shape) {
  if (!shape) return 'nothing';
  switch (shape.t) {
    case 'string':
      return shape.date ? 'date' : 'string';
    case 'array':
      return `list of ${shape.of ? describe(shape.of) : 'nothing (empty)'}`;
    case 'map':
      return `map of ${shape.of ? describe(shape.of) : 'nothing (empty)'}`;
    case 'object':
      return `object {${Object.keys(shape.keys).join(', ')}}`;
    case 'mixed':
      return shape.of.map(describe).join(' | ');
    default:
      return shape.t;
  }
}

/**
 * @param {Shape} shape
 * @returns {string}
 */
const kindOf = (shape) => (shape.t === 'map' ? 'object' : shape.t);

/**
 * Where the actual shape differs from the expected one.
 * @param {Shape} expected
 * @param {Shape} actual
 * @param {{ nullable?: Record<string, string> }} [rules]
 * @param {string} [path]
 * @returns {Difference[]}
 */
export function compareShapes(expected, actual, rules = {}, path = '') {
  if (expected.t === 'null' || expected.t === 'any') return [];
  if (actual.t === 'null') {
    return rules.nullable && Object.hasOwn(rules.nullable, path)
      ? []
      : [{ path, kind: 'null', expected: describe(expected), actual: 'null' }];
  }
  if (expected.t === 'mixed') {
    return expected.of.some((member) => compareShapes(member, actual, rules, path).length === 0)
      ? []
      : [{ path, kind: 'type', expected: describe(expected), actual: describe(actual) }];
  }
  if (kindOf(expected) !== kindOf(actual) || actual.t === 'mixed') {
    return [{ path, kind: 'type', expected: describe(expected), actual: describe(actual) }];
  }
  if (expected.t === 'string' && actual.t === 'string') {
    return expected.date && !actual.date
      ? [{ path, kind: 'format', expected: 'an ISO 8601 date', actual: 'another string' }]
      : [];
  }
  if (expected.t === 'object' && actual.t === 'object') {
    /** @type {Difference[]} */
    const differences = [];
    for (const [key, shape] of Object.entries(expected.keys)) {
      const other = actual.keys[key];
      if (other === undefined)
        differences.push({ path: join(path, key), kind: 'missing', expected: describe(shape), actual: 'absent' });
      else differences.push(...compareShapes(shape, other, rules, join(path, key)));
    }
    for (const [key, shape] of Object.entries(actual.keys)) {
      if (!Object.hasOwn(expected.keys, key))
        differences.push({ path: join(path, key), kind: 'extra', expected: 'absent', actual: describe(shape) });
    }
    return differences;
  }
  if ((expected.t === 'array' && actual.t === 'array') || (expected.t === 'map' && actual.t === 'map')) {
    const inner = expected.t === 'array' ? `${path}[]` : join(path, '*');
    if (expected.of === null) return [];
    if (actual.of === null)
      return [
        {
          path,
          kind: 'empty',
          expected: describe(expected),
          actual: `empty ${expected.t === 'array' ? 'list' : 'map'}`,
        },
      ];
    return compareShapes(expected.of, actual.of, rules, inner);
  }
  // An object where a map is expected, or the reverse, compares as objects: a map's keys are data.
  if (expected.t === 'map' && actual.t === 'object') {
    return expected.of === null
      ? []
      : Object.entries(actual.keys).flatMap(([key, shape]) =>
          compareShapes(/** @type {Shape} */ (expected.of), shape, rules, join(path, key)),
        );
  }
  return [];
}

/**
 * Every value found at a path (`[]` and `*` walk every element).
 * @param {unknown} value
 * @param {string} path
 * @returns {unknown[]}
 */
export function valuesAt(value, path) {
  if (path === '') return [value];
  const [head = '', ...rest] = path.split('.');
  const next = rest.join('.');
  const list = head.endsWith('[]');
  const key = list ? head.slice(0, -2) : head;
  let found =
    key === ''
      ? [value]
      : key === '*'
        ? isRecord(value)
          ? Object.values(value)
          : []
        : isRecord(value) && Object.hasOwn(value, key)
          ? [value[key]]
          : [];
  if (list) found = found.flatMap((item) => (Array.isArray(item) ? item : []));
  return found.flatMap((item) => valuesAt(item, next));
}

/**
 * Where an answer differs from the expected one: status, kind of body, then the body's shape and documented forms.
 * @param {{ status: number, content: Answer['content'], shape?: Shape }} expected
 * @param {Answer} actual
 * @param {ShapeRules} [rules]
 * @returns {Difference[]}
 */
export function compareAnswer(expected, actual, rules = {}) {
  if (expected.status !== actual.status)
    return [{ path: '', kind: 'status', expected: String(expected.status), actual: String(actual.status) }];
  if (expected.content !== actual.content)
    return [{ path: '', kind: 'content', expected: expected.content, actual: actual.content }];
  if (actual.content !== 'json' || !expected.shape) return [];
  const maps = new Set(Object.keys(rules.maps ?? {}));
  const differences = compareShapes(expected.shape, shapeOf(actual.body, maps), rules);
  for (const format of rules.formats ?? []) {
    const pattern = new RegExp(format.pattern, 'u');
    const bad = valuesAt(actual.body, format.path).filter((value) => typeof value === 'string' && !pattern.test(value));
    if (bad.length > 0)
      differences.push({
        path: format.path,
        kind: 'format',
        expected: `/${format.pattern}/ (${format.reason})`,
        actual: JSON.stringify(bad[0]),
      });
  }
  return differences;
}

/**
 * One line per difference.
 * @param {string} answer
 * @param {Difference} difference
 */
export function formatDifference(answer, { path, kind, expected, actual }) {
  return `${answer} ${path || '(answer)'} ${kind}: expected ${expected}, got ${actual}`;
}
