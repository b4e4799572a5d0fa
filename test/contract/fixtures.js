// @ts-check
/**
 * @file Scalingo's documented answers (test/contract/fixtures/*.json), read as the shapes the fake and the real
 * Scalingo are compared with. One file per answer, each naming its source (repository, path, commit, lines).
 *
 * A fixture gives its answer by one of:
 * - `example`: an example quoted from the source (verbatim, or with the fixes its `transcription` lists);
 * - `model`: a shape written from an official client's model where no example exists (`"string"`, `"date"`, …);
 * - `sameShapeAs`: the shape of (a part of) another fixture, e.g. a created link is shaped as a shown link;
 * - `frames` (the deployments stream): one example per frame type, each read as the answer `stream-<type>`.
 * `nullable`, `maps` and `formats` say what an example alone cannot: which values may be null, which objects are maps,
 * which values have a documented form.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isRecord, shapeFromModel, shapeOf } from './shape.js';

/** @typedef {import('./shape.js').Shape} Shape */
/** @typedef {import('./shape.js').ShapeRules} ShapeRules */

/**
 * @typedef {object} Source
 * @property {string} repository
 * @property {string} path
 * @property {string} commit
 * @property {string} lines
 * @property {string} [section]
 * @property {string} [says]
 */

/**
 * @typedef {object} Fixture
 * @property {string} answer
 * @property {string} request
 * @property {'auth' | 'api' | 'any' | 'stream'} service
 * @property {number} [status]
 * @property {'json' | 'text' | 'empty' | 'frames'} content
 * @property {Source} source
 * @property {unknown} [example]
 * @property {unknown} [model]
 * @property {{ answer: string, path: string, wrapIn?: string }} [sameShapeAs]
 * @property {string} [transcription]
 * @property {Record<string, string>} [nullable]
 * @property {Record<string, string>} [maps]
 * @property {ShapeRules['formats']} [formats]
 * @property {Source[]} [otherSources]
 * @property {string} [sourcesDisagree]
 * @property {Record<string, Omit<Fixture, 'answer' | 'request' | 'service' | 'content'> & { direction?: string }>} [frames]
 */

/**
 * What an answer must look like.
 * @typedef {object} Expected
 * @property {string} answer
 * @property {string} request
 * @property {Fixture['service']} service
 * @property {number} status A stream frame's is 101, the status of the WebSocket upgrade it came on.
 * @property {'json' | 'text' | 'empty'} content
 * @property {Shape | undefined} shape Undefined for text and empty answers.
 * @property {ShapeRules} rules
 * @property {Source} source
 * @property {string} file The fixture's file name.
 */

export const FIXTURES_DIR = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');
/** The status a stream frame is compared with: the socket it came on was opened by a 101. */
export const FRAME_STATUS = 101;

/** @returns {Fixture[]} */
export function readFixtures(dir = FIXTURES_DIR) {
  return readdirSync(dir)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => {
      const fixture = /** @type {Fixture} */ (JSON.parse(readFileSync(join(dir, name), 'utf8')));
      if (`${fixture.answer}.json` !== name) throw new Error(`${name}: its answer is "${fixture.answer}"`);
      return fixture;
    });
}

/**
 * Prefixes rule paths (for a shape reused inside another answer).
 * @param {Record<string, string> | undefined} rules
 * @param {(path: string) => string | undefined} move
 */
function movePaths(rules, move) {
  /** @type {Record<string, string>} */
  const moved = {};
  for (const [path, reason] of Object.entries(rules ?? {})) {
    const to = move(path);
    if (to !== undefined) moved[to] = reason;
  }
  return moved;
}

/**
 * @param {Shape} shape
 * @param {string} path `''`, `key`, `key[]`, `a.b[]`
 * @returns {Shape}
 */
function shapeAt(shape, path) {
  let current = shape;
  for (const part of path === '' ? [] : path.split('.')) {
    const list = part.endsWith('[]');
    const key = list ? part.slice(0, -2) : part;
    if (current.t !== 'object' || !current.keys[key]) throw new Error(`no ${path} in the shape`);
    current = current.keys[key];
    if (list) {
      if (current.t !== 'array' || !current.of) throw new Error(`${path}: not a list with elements`);
      current = current.of;
    }
  }
  return current;
}

/**
 * Every documented answer, by name (`stream-frames.json` gives `stream-auth`, `stream-new`, …).
 * @param {Fixture[]} [fixtures]
 * @returns {Map<string, Expected>}
 */
export function expectedAnswers(fixtures = readFixtures()) {
  /** @type {Map<string, Expected>} */
  const expected = new Map();
  const byName = new Map(fixtures.map((f) => [f.answer, f]));

  /**
   * @param {Fixture} fixture
   * @returns {Expected}
   */
  const build = (fixture) => {
    const known = expected.get(fixture.answer);
    if (known) return known;
    const maps = new Set(Object.keys(fixture.maps ?? {}));
    /** @type {ShapeRules} */
    let rules = { nullable: fixture.nullable ?? {}, maps: fixture.maps ?? {}, formats: fixture.formats ?? [] };
    /** @type {Shape | undefined} */
    let shape;
    if (fixture.content === 'json') {
      if (fixture.example !== undefined) shape = shapeOf(fixture.example, maps);
      else if (fixture.model !== undefined) shape = shapeFromModel(fixture.model, maps);
      else if (fixture.sameShapeAs) {
        const { answer, path, wrapIn } = fixture.sameShapeAs;
        const base = byName.get(answer);
        if (!base) throw new Error(`${fixture.answer}: sameShapeAs names no fixture "${answer}"`);
        const from = build(base);
        if (!from.shape) throw new Error(`${fixture.answer}: "${answer}" has no JSON shape`);
        const inner = shapeAt(from.shape, path);
        shape = wrapIn ? { t: 'object', keys: { [wrapIn]: inner } } : inner;
        const move = (/** @type {string} */ p) => {
          if (path === '') return wrapIn ? (p === '' ? wrapIn : `${wrapIn}.${p}`) : p;
          if (p !== path && !p.startsWith(`${path}.`)) return undefined;
          const rest = p.slice(path.length).replace(/^\./, '');
          const head = wrapIn ?? '';
          return rest === '' ? head : head === '' ? rest : `${head}.${rest}`;
        };
        rules = {
          nullable: { ...movePaths(from.rules.nullable, move), ...fixture.nullable },
          maps: { ...movePaths(from.rules.maps, move), ...fixture.maps },
          formats: [
            ...(from.rules.formats ?? []).flatMap((f) => {
              const to = move(f.path);
              return to === undefined ? [] : [{ ...f, path: to }];
            }),
            ...(fixture.formats ?? []),
          ],
        };
      } else {
        throw new Error(`${fixture.answer}: a JSON answer needs an example, a model or sameShapeAs`);
      }
    }
    if (fixture.status === undefined) throw new Error(`${fixture.answer}: no status`);
    if (fixture.content === 'frames') throw new Error(`${fixture.answer}: frames are read by expectedAnswers`);
    const built = {
      answer: fixture.answer,
      request: fixture.request,
      service: fixture.service,
      status: fixture.status,
      content: fixture.content,
      shape,
      rules,
      source: fixture.source,
      file: `${fixture.answer}.json`,
    };
    expected.set(fixture.answer, built);
    return built;
  };

  for (const fixture of fixtures) {
    if (fixture.content !== 'frames') {
      build(fixture);
      continue;
    }
    for (const [type, frame] of Object.entries(fixture.frames ?? {})) {
      if (!isRecord(frame.example)) throw new Error(`${fixture.answer}: the ${type} frame has no example`);
      const rules = { nullable: frame.nullable ?? {}, maps: frame.maps ?? {}, formats: frame.formats ?? [] };
      expected.set(`stream-${type}`, {
        answer: `stream-${type}`,
        request: `${fixture.request}: ${type} frame${frame.direction ? ` (${frame.direction})` : ''}`,
        service: 'stream',
        status: FRAME_STATUS,
        content: 'json',
        shape: shapeOf(frame.example, new Set(Object.keys(rules.maps))),
        rules,
        source: frame.source,
        file: `${fixture.answer}.json`,
      });
    }
  }
  return expected;
}

/**
 * The example of a stream frame, e.g. the documented auth frame.
 * @param {string} type
 * @param {Fixture[]} [fixtures]
 * @returns {Record<string, unknown>}
 */
export function frameExample(type, fixtures = readFixtures()) {
  const frame = fixtures.find((f) => f.content === 'frames')?.frames?.[type];
  if (!frame || !isRecord(frame.example)) throw new Error(`no documented ${type} frame`);
  return structuredClone(frame.example);
}
