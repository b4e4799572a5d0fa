import { describe, expect, it } from 'vitest';
import { leaks } from '../support/runner.js';

describe('the secret scan of the end-to-end tests', () => {
  const token = 'tk-us-test-0123456789abcdef';
  it('finds a token as is and in its Basic encoding', () => {
    expect(leaks(`x ${token} y`, [token])).toEqual([token]);
    const basic = Buffer.from(`:${token}`).toString('base64');
    expect(leaks(`Authorization: Basic ${basic}`, [token])).toEqual([basic]);
  });

  it("ignores the runner's own ::add-mask:: commands only", () => {
    expect(leaks(`::add-mask::${token}\nok`, [token])).toEqual([]);
    expect(leaks(`::debug::${token}`, [token])).toEqual([token]);
  });
});
