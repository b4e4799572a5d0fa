// @ts-check
/**
 * @file What a live run reports: the shapes of the answers it recorded against the documented ones and the fake's,
 * and the recorded answers written, redacted, with the questions table.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { collectFakeAnswers } from '../contract/fake-answers.js';
import { ALLOWED_DIFFERENCES, allowedFor } from '../contract/differences.js';
import { expectedAnswers, FRAME_STATUS } from '../contract/fixtures.js';
import { compareAnswer, formatDifference, isRecord, shapeOf } from '../contract/shape.js';
import { questionsMarkdown } from './questions.js';
import { field } from './util.js';

/** @typedef {import('../contract/wire.js').RawAnswer} RawAnswer */
/** @typedef {import('./live-run.js').LiveRun} LiveRun */
/** @typedef {ReturnType<typeof import('./questions.js').answerQuestions>} QuestionRows */

const MARK = 'scalingo-deploy live suite';

/**
 * Shapes: every recorded answer against its documented answer, and against the fake's.
 * @param {LiveRun} run
 */
export async function compareShapes(run) {
  const expected = expectedAnswers();
  const fake = await collectFakeAnswers();
  /** @type {{ answer: string, label: string, status: number, content: RawAnswer['content'], body: unknown }[]} */
  const real = run.records
    .filter((r) => r.answer !== undefined)
    .map((r) => ({
      answer: /** @type {string} */ (r.answer),
      label: r.label,
      status: r.status,
      content: r.content,
      body: r.body,
    }));
  for (const stream of run.streams.filter((s) => s.outcome === 'open' && s.origin)) {
    for (const frame of stream.frames.filter((f) => isRecord(f.json)).slice(0, 200)) {
      real.push({
        answer: `stream-${String(field(frame.json, 'type'))}`,
        label: stream.label,
        status: FRAME_STATUS,
        content: 'json',
        body: frame.json,
      });
    }
  }
  /** @type {Map<string, { line: string, labels: Set<string> }>} */
  const againstDocs = new Map();
  /** @type {Set<string>} */
  const listed = new Set();
  /** @type {Set<string>} */
  const unlisted = new Set();
  for (const answer of real) {
    const doc = expected.get(answer.answer);
    if (!doc) {
      againstDocs.set(answer.answer, {
        line: `${answer.answer}: no documented answer of this name`,
        labels: new Set([answer.label]),
      });
      continue;
    }
    for (const d of compareAnswer(doc, answer, doc.rules)) {
      const key = `${answer.answer}|${d.path}|${d.kind}`;
      const known = againstDocs.get(key) ?? { line: formatDifference(answer.answer, d), labels: new Set() };
      known.labels.add(answer.label);
      againstDocs.set(key, known);
    }
    // Scalingo is the expected side, the fake the actual one: the same directions as the list of differences.
    const recorded = {
      status: answer.status,
      content: answer.content,
      shape: shapeOf(answer.body, new Set(Object.keys(doc.rules.maps ?? {}))),
    };
    for (const fakeAnswer of fake.get(answer.answer) ?? []) {
      if (fakeAnswer.status !== answer.status && answer.status >= 400) continue;
      for (const d of compareAnswer(recorded, fakeAnswer, doc.rules)) {
        const line = formatDifference(answer.answer, d);
        (allowedFor(answer.answer, d, ALLOWED_DIFFERENCES) ? listed : unlisted).add(line);
      }
    }
  }
  const docs = [...againstDocs.values()].map(({ line, labels }) => `${line} (in ${[...labels].sort().join(', ')})`);
  return { againstDocs: docs.sort(), listed: [...listed].sort(), unlisted: [...unlisted].sort() };
}

/**
 * Writes what was recorded, redacted, and the report; removes what an earlier run wrote there.
 * @param {LiveRun} run
 * @param {{ questions: QuestionRows, shapes: Awaited<ReturnType<typeof compareShapes>> }} report
 */
export function writeRecords(run, report) {
  const dir = run.config.recordDir;
  mkdirSync(dir, { recursive: true });
  const index = join(dir, 'run.json');
  if (existsSync(index)) {
    try {
      const previous = JSON.parse(readFileSync(index, 'utf8'));
      if (previous.recordedBy === MARK && Array.isArray(previous.files)) {
        for (const file of previous.files)
          if (typeof file === 'string' && /^[\w.-]+$/.test(file)) rmSync(join(dir, file), { force: true });
      }
    } catch {
      // not ours
    }
  }
  const r = run.redactor;
  /** @type {string[]} */
  const files = [];
  /** @param {string} name @param {string} content */
  const write = (name, content) => {
    writeFileSync(join(dir, name), content);
    files.push(name);
  };
  for (const record of run.records) {
    write(
      `${record.label}.json`,
      `${JSON.stringify(
        r.value({
          recordedBy: MARK,
          label: record.label,
          comparedWith: record.answer ?? null,
          request: {
            service: record.request.service,
            method: record.request.method,
            path: r.text(record.request.path),
          },
          status: record.status,
          headers: record.headers,
          content: record.content,
          body:
            record.content === 'text' && typeof record.body === 'string' && record.body.length > 100_000
              ? `${record.body.slice(0, 100_000)}\n[cut at 100000 characters]`
              : record.body,
          ms: record.ms,
        }),
        null,
        2,
      )}\n`,
    );
  }
  for (const stream of run.streams) {
    write(
      `${stream.label}.json`,
      `${JSON.stringify(
        r.value({
          recordedBy: MARK,
          label: stream.label,
          url: stream.url,
          originSent: stream.origin,
          outcome: stream.outcome,
          httpStatus: stream.httpStatus ?? null,
          refusal: stream.refusal ?? null,
          closed: stream.closed ?? null,
          frames: stream.frames.map((f) => ({ at: f.at, frame: f.json ?? f.text })),
        }),
        null,
        2,
      )}\n`,
    );
  }
  write('questions.json', `${JSON.stringify(r.value(report.questions), null, 2)}\n`);
  write('questions.md', `${r.text(questionsMarkdown(report.questions))}\n`);
  write('shapes.json', `${JSON.stringify(r.value(report.shapes), null, 2)}\n`);
  files.push('run.json');
  writeFileSync(
    index,
    `${JSON.stringify(
      {
        recordedBy: MARK,
        date: new Date().toISOString(),
        mode: run.obs.mode,
        pullRequest: run.obs.pullRequest,
        node: process.version,
        failures: run.failures.map((f) => r.text(f)),
        files: files.sort(),
      },
      null,
      2,
    )}\n`,
  );
  return files.length;
}
