/** A write is never sent twice blindly: on a virtual clock, every path of writeOnce. */
import { describe, expect, it } from 'vitest';
import { lateEffectWindow, writeOnce, type WriteOnce } from '../../src/core/write-once.js';
import { UserError } from '../../src/core/errors.js';
import { NetworkError, ScalingoApiError } from '../../src/scalingo/errors.js';
import type { Logger } from '../../src/core/log.js';

const START = 1_000_000;
const TIMEOUT = new NetworkError('POST', '/deploy', 'UND_ERR_HEADERS_TIMEOUT', false);
const RESET = new NetworkError('POST', '/deploy', 'ECONNRESET', false);
const CUT = new NetworkError('POST', '/deploy', 'UND_ERR_BODY_CUT', false);
const DOWN = new ScalingoApiError(503, 'GET', '/deployments', 'down');
/** The server answered: whatever it did is over, its effect is there or not. */
const FAILED = new ScalingoApiError(500, 'POST', '/deploy', 'Internal error occured');

function setup(opts: {
  send: (n: number) => Promise<string>;
  check: (n: number) => Promise<string | undefined>;
  deadlineIn?: number;
  afterResend?: (value: string) => Promise<string>;
}) {
  let t = START;
  const lines: string[] = [];
  const sent: number[] = [];
  const checked: number[] = [];
  const log: Logger = {
    info: (l) => lines.push(l),
    warning: (l) => lines.push(l),
    debug: () => {},
    group: (_t, fn) => fn(),
  };
  const w: WriteOnce<string> = {
    what: 'deploy of branch main of my-app',
    send: () => {
      sent.push(t);
      return opts.send(sent.length);
    },
    check: () => {
      checked.push(t);
      return opts.check(checked.length);
    },
    log,
    now: () => t,
    sleep: async (ms) => {
      t += ms;
    },
    deadline: START + (opts.deadlineIn ?? 60_000),
    lookAgainMs: 30_000,
    retryEveryMs: 5000,
    tooLate: (reason) => `too late (${reason})`,
    ...(opts.afterResend ? { afterResend: opts.afterResend } : {}),
  };
  return { w, lines, sent, checked, at: () => t };
}

describe('writeOnce', () => {
  it('sends once when the answer is clear', async () => {
    const s = setup({ send: async () => 'd1', check: async () => undefined });
    expect(await writeOnce(s.w)).toBe('d1');
    expect(s.sent).toHaveLength(1);
    expect(s.checked).toHaveLength(0);
  });

  it('does not look after a clear refusal: the error stands', async () => {
    const refused = new ScalingoApiError(422, 'POST', '/deploy', 'branch not found');
    const s = setup({ send: async () => Promise.reject(refused), check: async () => 'never' });
    await expect(writeOnce(s.w)).rejects.toBe(refused);
    expect(s.checked).toHaveLength(0);
  });

  it('after an unclear answer, carries on with the effect it finds, without sending again', async () => {
    const s = setup({ send: async () => Promise.reject(RESET), check: async () => 'd1' });
    expect(await writeOnce(s.w)).toBe('d1');
    expect(s.sent).toHaveLength(1);
    expect(s.lines).toEqual([
      'No clear answer (ECONNRESET): checking whether it took effect before anything else',
      'It did: carrying on with it',
    ]);
  });

  it('after an answer the server gave (a 500) with no effect, sends once more, at once: its work is over', async () => {
    const s = setup({ send: async (n) => (n === 1 ? Promise.reject(FAILED) : 'd2'), check: async () => undefined });
    expect(await writeOnce(s.w)).toBe('d2');
    expect(s.sent).toEqual([START, START]);
    expect(s.checked).toHaveLength(1);
    expect(s.lines.at(-1)).toBe('It did not: sending it once more');
  });

  it('after a connection lost before any answer, looks for a request timeout before sending again: the server may still be at it', async () => {
    const s = setup({ send: async (n) => (n === 1 ? Promise.reject(RESET) : 'd2'), check: async () => undefined });
    expect(await writeOnce(s.w)).toBe('d2');
    expect(s.checked).toEqual([START, START + 15_000, START + 30_000]);
    expect(s.sent).toEqual([START, START + 30_000]);
  });

  it('an effect that shows late (Scalingo processed it after the answer was lost) is found, not sent again', async () => {
    const s = setup({ send: async () => Promise.reject(RESET), check: async (n) => (n === 2 ? 'd1' : undefined) });
    expect(await writeOnce(s.w)).toBe('d1');
    expect(s.sent).toHaveLength(1);
    expect(s.lines).toEqual([
      'No clear answer (ECONNRESET): checking whether it took effect before anything else',
      'Not yet: looking again, in case the server is only slow',
      'It did: carrying on with it',
    ]);
  });

  it('after a timeout, looks for two request timeouts, in case the server is only slow', async () => {
    const s = setup({ send: async () => Promise.reject(TIMEOUT), check: async (n) => (n === 5 ? 'd1' : undefined) });
    expect(await writeOnce(s.w)).toBe('d1');
    expect(s.checked).toEqual([START, START + 15_000, START + 30_000, START + 45_000, START + 60_000]);
    expect(s.sent).toHaveLength(1);
  });

  it('never looks past the deadline: the last look waits only until it', async () => {
    const s = setup({ send: async () => Promise.reject(TIMEOUT), check: async () => undefined, deadlineIn: 40_000 });
    await expect(writeOnce(s.w)).rejects.toThrow(new UserError('too late (UND_ERR_HEADERS_TIMEOUT)'));
    expect(s.checked).toEqual([START, START + 15_000, START + 30_000, START + 40_000]);
    // Not sent again: with no time left to know, a second send could do it twice.
    expect(s.sent).toHaveLength(1);
  });

  it('sends once more after the looks when time is left and nothing showed', async () => {
    const s = setup({
      send: async (n) => (n === 1 ? Promise.reject(TIMEOUT) : 'd2'),
      check: async () => undefined,
      deadlineIn: 600_000,
    });
    expect(await writeOnce(s.w)).toBe('d2');
    expect(s.checked).toEqual([START, START + 15_000, START + 30_000, START + 45_000, START + 60_000]);
    expect(s.sent).toEqual([START, START + 60_000]);
  });

  it('what a resend answered goes through afterResend (the first send may have been processed too); a first send does not', async () => {
    const seen: string[] = [];
    const afterResend = async (value: string) => {
      seen.push(value);
      return 'd1';
    };
    const once = setup({ send: async () => 'd1', check: async () => undefined, afterResend });
    expect(await writeOnce(once.w)).toBe('d1');
    expect(seen).toEqual([]);
    const twice = setup({
      send: async (n) => (n === 1 ? Promise.reject(FAILED) : 'd2'),
      check: async () => undefined,
      afterResend,
    });
    expect(await writeOnce(twice.w)).toBe('d1');
    expect(seen).toEqual(['d2']);
  });

  it('the window of a late effect: none once the server answered, a request timeout without an answer, two after a timeout', () => {
    expect(lateEffectWindow(FAILED, 30_000)).toBe(0);
    expect(lateEffectWindow(CUT, 30_000)).toBe(0);
    expect(lateEffectWindow(RESET, 30_000)).toBe(30_000);
    expect(lateEffectWindow(new ScalingoApiError(504, 'POST', '/deploy', ''), 30_000)).toBe(30_000);
    expect(lateEffectWindow(new ScalingoApiError(502, 'POST', '/deploy', ''), 30_000)).toBe(30_000);
    expect(lateEffectWindow(TIMEOUT, 30_000)).toBe(60_000);
  });

  it('an answer cut in the middle of its body is unclear: looks before anything else', async () => {
    const s = setup({ send: async () => Promise.reject(CUT), check: async () => 'd1' });
    expect(await writeOnce(s.w)).toBe('d1');
    expect(s.sent).toHaveLength(1);
    expect(s.lines[0]).toBe('No clear answer (answer cut short): checking whether it took effect before anything else');
  });

  it('two unclear answers in a row: each is checked before any resend', async () => {
    // The first send was not processed; the second was, but its answer was a 500 all the same.
    const s = setup({ send: async () => Promise.reject(FAILED), check: async (n) => (n === 2 ? 'd2' : undefined) });
    expect(await writeOnce(s.w)).toBe('d2');
    expect(s.sent).toHaveLength(2);
    expect(s.checked).toHaveLength(2);
  });

  it('stops after three sends without a clear answer nor an effect', async () => {
    const s = setup({ send: async () => Promise.reject(FAILED), check: async () => undefined, deadlineIn: 600_000 });
    await expect(writeOnce(s.w)).rejects.toThrow(
      /was sent 3 times without a clear answer \(last: HTTP 500\) and showed no effect: not sent again/,
    );
    expect(s.sent).toHaveLength(3);
    expect(s.checked).toHaveLength(3);
  });

  it('a look that fails with a 5xx is tried again until the deadline, like the status poll', async () => {
    const s = setup({
      send: async () => Promise.reject(RESET),
      check: async (n) => (n < 8 ? Promise.reject(DOWN) : 'd1'),
    });
    expect(await writeOnce(s.w)).toBe('d1');
    expect(s.checked).toHaveLength(8);
    expect(s.at() - START).toBe(7 * 5000);
    expect(s.sent).toHaveLength(1);
  });

  it('a look still failing at the deadline stops without sending again', async () => {
    const s = setup({
      send: async () => Promise.reject(RESET),
      check: async () => Promise.reject(DOWN),
      deadlineIn: 20_000,
    });
    await expect(writeOnce(s.w)).rejects.toThrow(new UserError('too late (ECONNRESET)'));
    expect(s.sent).toHaveLength(1);
    expect(s.at()).toBe(START + 20_000);
  });

  it('a look that fails for good (not transient) stands', async () => {
    const gone = new ScalingoApiError(403, 'GET', '/deployments', 'forbidden');
    const s = setup({ send: async () => Promise.reject(RESET), check: async () => Promise.reject(gone) });
    await expect(writeOnce(s.w)).rejects.toBe(gone);
    expect(s.sent).toHaveLength(1);
  });
});
