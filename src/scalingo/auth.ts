/** The API token's exchange for short-lived bearer tokens, and their renewal before they expire. */
import { UnexpectedResponseError } from './errors.js';
import type { Http } from './http.js';

/** Refresh the bearer this long before it expires, as the official Go client does. */
const REFRESH_MARGIN_MS = 5 * 60_000;
/** Bearer tokens last one hour when the JWT does not say. */
const DEFAULT_LIFETIME_MS = 60 * 60_000;
const EXCHANGE = '/v1/tokens/exchange';

export class Auth {
  private bearer?: { token: string; refreshAt: number };
  private pending?: Promise<string>;
  private readonly basic: string;

  constructor(
    private readonly http: Http,
    apiToken: string,
    /** Called with every credential derived from the token, so the platform can mask it. */
    private readonly onSecret: (secret: string) => void,
    private readonly debug: (message: string) => void,
    /** The client's clock (HttpOptions.now): when the bearer was received, and when it must be exchanged again. */
    private readonly now: () => number = Date.now,
  ) {
    this.basic = `Basic ${Buffer.from(`:${apiToken}`).toString('base64')}`;
    onSecret(apiToken);
    onSecret(this.basic.slice('Basic '.length));
  }

  /** Exchanges the API token for a bearer token (POST /v1/tokens/exchange on the auth service); one at a time. */
  exchange(): Promise<string> {
    this.pending ??= (async () => {
      try {
        const res = await this.http.send({
          method: 'POST',
          service: 'auth',
          path: EXCHANGE,
          body: {},
          headers: { authorization: this.basic },
          idempotent: true,
          expect: [200, 201],
        });
        const token = (res.data as { token?: unknown } | undefined)?.token;
        if (typeof token !== 'string' || token === '') {
          throw new UnexpectedResponseError(
            res.status,
            'POST',
            EXCHANGE,
            'a body without a token',
            res.text.slice(0, 40).replace(/"token"\s*:\s*"[^"]*"/, '"token":"***"'),
          );
        }
        this.onSecret(token);
        const now = this.now();
        this.bearer = { token, refreshAt: bearerRefreshAt(jwtExpiry(token, now), now) };
        return token;
      } finally {
        this.pending = undefined;
      }
    })();
    return this.pending;
  }

  /** The current bearer, exchanged again when it is about to expire. */
  async token(): Promise<string> {
    if (this.bearer && this.now() < this.bearer.refreshAt) return this.bearer.token;
    if (this.bearer) this.debug('bearer token about to expire: exchanging the API token again');
    return this.exchange();
  }

  /** A fresh bearer, after the API refused the current one. */
  renew(): Promise<string> {
    this.bearer = undefined;
    return this.exchange();
  }
}

/**
 * When to exchange the token again: 5 minutes before the bearer expires; a bearer that short-lived is still used
 * for half its life, rather than exchanged again before every call.
 */
export function bearerRefreshAt(expiry: number, now: number): number {
  return Math.max(expiry - REFRESH_MARGIN_MS, now + (expiry - now) / 2);
}

/** Reads the `exp` claim of a JWT without verifying it (the server does that); one hour when absent. */
export function jwtExpiry(token: string, now: number): number {
  const payload = token.split('.')[1];
  if (payload) {
    try {
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: unknown };
      if (typeof claims.exp === 'number' && Number.isFinite(claims.exp)) return claims.exp * 1000;
    } catch {
      // not a JWT we can read
    }
  }
  return now + DEFAULT_LIFETIME_MS;
}
