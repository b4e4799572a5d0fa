import { describe, expect, it } from 'vitest';
import { LineDeduper, isFinishedStatus, missingLines, outputLines, parseFrame } from '../../src/scalingo/stream.js';
import { eventLines } from '../../src/scalingo/stream-frames.js';

describe('parseFrame', () => {
  it('reads pings, logs and statuses', () => {
    expect(parseFrame('{"type":"ping","data":{"ts":1465288802}}')).toEqual({ type: 'ping' });
    expect(parseFrame('{"type":"log","id":"d1","data":{"content":"-----> Building\\n"}}')).toEqual({
      type: 'log',
      deploymentId: 'd1',
      content: '-----> Building\n',
    });
    expect(parseFrame('{"type":"status","id":"d1","data":{"status":"pushing"}}')).toEqual({
      type: 'status',
      deploymentId: 'd1',
      status: 'pushing',
    });
  });

  it('reads a new deployment given as an object or as a bare id', () => {
    expect(parseFrame('{"type":"new","data":{"deployment":{"id":"d2","status":"queued"}}}')).toEqual({
      type: 'new',
      deploymentId: 'd2',
    });
    expect(parseFrame('{"type":"new","data":{"deployment":"d3"}}')).toEqual({ type: 'new', deploymentId: 'd3' });
    expect(parseFrame('{"type":"new","id":"d4","data":{}}')).toEqual({ type: 'new', deploymentId: 'd4' });
    expect(parseFrame('{"type":"new","data":{"deployment":{}}}')).toEqual({ type: 'new' });
  });

  it('accepts numeric ids', () => {
    expect(parseFrame('{"type":"log","id":42,"data":{"content":"x"}}')).toEqual({
      type: 'log',
      deploymentId: '42',
      content: 'x',
    });
  });

  it('keeps frames without an id, for the follower to ignore', () => {
    expect(parseFrame('{"type":"log","data":{"content":"x"}}')).toEqual({ type: 'log', content: 'x' });
  });

  it('tells unknown types and known types without their data', () => {
    expect(parseFrame('{"type":"hello","data":{}}')).toEqual({ type: 'other', name: 'hello' });
    expect(parseFrame('{"type":"log","id":"d1","data":{}}')).toEqual({ type: 'other', name: 'log' });
    expect(parseFrame('{"type":"status","id":"d1"}')).toEqual({ type: 'other', name: 'status' });
  });

  it('rejects what is not a JSON event', () => {
    for (const text of ['', 'not json', '[]', '"ping"', 'null', '{"data":{}}', '{"type":3}']) {
      expect(parseFrame(text)).toBeUndefined();
    }
  });
});

describe('isFinishedStatus', () => {
  it('counts every status but the four in progress as final', () => {
    for (const status of ['queued', 'building', 'pushing', 'starting']) expect(isFinishedStatus(status)).toBe(false);
    for (const status of [
      'success',
      'build-error',
      'crashed-error',
      'timeout-error',
      'hook-error',
      'aborted',
      'something-new',
    ]) {
      expect(isFinishedStatus(status)).toBe(true);
    }
  });
});

describe('LineDeduper', () => {
  it('takes each event as one or more whole lines, with or without a final newline', () => {
    const lines = new LineDeduper();
    lines.startConnection();
    expect(lines.push('one\ntwo\n')).toEqual(['one', 'two']);
    // Without a newline: a line all the same, shown at once, never run together with the next event.
    expect(lines.push('-----> Building')).toEqual(['-----> Building']);
    expect(lines.push('       npm install')).toEqual(['       npm install']);
    expect(lines.push('three\r\nfour')).toEqual(['three', 'four']);
    expect(lines.push('\n')).toEqual(['']);
    expect(lines.push('')).toEqual([]);
    expect(lines.emitted).toBe(7);
    expect(eventLines('a\nb')).toEqual(['a', 'b']);
    expect(eventLines('a\nb\n')).toEqual(['a', 'b']);
  });

  it('shows a replayed line once, whatever the form of the replay', () => {
    const lines = new LineDeduper();
    lines.startConnection();
    expect(lines.push('l1\nl2\n')).toEqual(['l1', 'l2']);
    expect(lines.push('l3')).toEqual(['l3']);
    // The connection drops: the next one replays everything, here without newlines, one line per event.
    lines.startConnection();
    for (const line of ['l1', 'l2', 'l3']) expect(lines.push(line)).toEqual([]);
    expect(lines.push('l4')).toEqual(['l4']);
    expect(lines.push('l5\nl6\n')).toEqual(['l5', 'l6']);
    expect(lines.emitted).toBe(6);
    expect(lines.mismatch).toBe(false);
  });

  it('flags a replay that disagrees with what was shown', () => {
    const lines = new LineDeduper();
    lines.startConnection();
    lines.push('a\nb\nc\n');
    lines.startConnection();
    expect(lines.push('x\ny\nz\nd\n')).toEqual(['d']);
    expect(lines.mismatch).toBe(true);
  });

  it('checks nothing on a first connection', () => {
    const lines = new LineDeduper();
    lines.startConnection();
    lines.push('a\n');
    lines.startConnection();
    lines.push('a\nb\n');
    expect(lines.mismatch).toBe(false);
  });
});

describe('gap filling', () => {
  it('splits a complete output into lines', () => {
    expect(outputLines('')).toEqual([]);
    expect(outputLines('a\nb\n')).toEqual(['a', 'b']);
    expect(outputLines('a\r\nb')).toEqual(['a', 'b']);
    expect(outputLines('\n')).toEqual(['']);
  });

  it('returns the lines beyond those already shown', () => {
    const output = 'one\ntwo\nthree\nfour\n';
    expect(missingLines(output, 0)).toEqual(['one', 'two', 'three', 'four']);
    expect(missingLines(output, 2)).toEqual(['three', 'four']);
    expect(missingLines(output, 4)).toEqual([]);
    expect(missingLines(output, 9)).toEqual([]);
    expect(missingLines(output, -1)).toEqual(['one', 'two', 'three', 'four']);
  });

  it('counts lines as the stream does, a last line without newline included', () => {
    const output = 'a\nb\nc';
    const lines = new LineDeduper();
    lines.startConnection();
    const shown = lines.push('a\nb');
    expect(missingLines(output, lines.emitted)).toEqual(['c']);
    expect([...shown, ...missingLines(output, lines.emitted)]).toEqual(outputLines(output));
  });
});
