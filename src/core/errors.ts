/** Errors that reach the user. Each message is one line that says what happened and what to do. */
import { WORKFLOW_NAMES, type InputNames } from './inputs.js';

/** What is allowed, in words that may name other inputs (then in the words of the face that reports it). */
export type Allowed = string | ((names: InputNames) => string);

/** A bad input, found before any request is sent. Each face says it in its own names: `describe`. */
export class InputError extends Error {
  constructor(
    readonly input: string,
    readonly value: string,
    private readonly allowed: Allowed,
  ) {
    super('');
    this.name = 'InputError';
    this.message = this.describe(WORKFLOW_NAMES);
  }

  describe(names: InputNames): string {
    const shown = /^source$|-url$/.test(this.input) ? hideCredentials(this.value) : this.value;
    const allowed = typeof this.allowed === 'string' ? this.allowed : this.allowed(names);
    const subject = names.subject(this.input);
    return shown === ''
      ? `${subject} is missing: ${allowed}.`
      : `${subject} has value ${JSON.stringify(shown)}: ${allowed}.`;
  }
}

/** A URL's `user:password@` part becomes `***@`: an error message is no place for credentials. */
export function hideCredentials(value: string): string {
  // Up to the last `@`: a password may hold `/` or `@` (then the value is no valid URL, but it is still secret).
  return value.replace(/^([a-z][\w+.-]*:\/\/)?.*@/is, '$1***@');
}

/** A failure the user can act on, already explained. */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}

/** For the `default` of a switch that covers every case: the compiler proves it unreachable. */
export function assertNever(value: never): never {
  throw new Error(`unexpected value: ${JSON.stringify(value)}`);
}

/** The run was stopped by a signal (a cancelled job, Ctrl-C): the platform aborts the step's signal with it. */
export class CancelledError extends Error {
  constructor(signal: string) {
    super(`cancelled by ${signal}`);
    this.name = 'CancelledError';
  }
}
