/**
 * The GitHub API client of the pull request comment and GitHub deployments, loaded only when one of them is needed:
 * @actions/github with Octokit's retry and throttling plugins, in one lazily loaded chunk of the bundle.
 *
 * - Retries: a 5xx or a lost connection is tried again twice (after 1 s, then 4 s). 429 is left to the throttling.
 * - Rate limits: GitHub's primary limit (x-ratelimit-remaining 0, until x-ratelimit-reset) and its secondary limits
 *   (retry-after, 60 s when not said) are waited out when the wait fits what is left of the call's time, at most 3
 *   times; otherwise the call gives up, and the one warning of the call names the limit and the wait asked.
 * - Writes go one at a time, 1 s apart (3 s between new comments): the throttling's default, GitHub's guidance to stay
 *   clear of its secondary limits (deployment statuses are where they are met first).
 */
export type Octokit = ReturnType<(typeof import('@actions/github'))['getOctokit']>;

/** What a call passes in its `request` options so that the plugins' waits keep to its time. */
export interface CallBudget {
  signal: AbortSignal;
  /** When the call is given up (epoch ms). */
  deadline: number;
  /**
   * Told by a rate limit that could not be waited out what the call's warning says. (A function: Octokit copies the
   * plain parts of a call's options, but passes functions and the signal on as they are.)
   */
  noteLimit: (note: string) => void;
}

export interface OctokitTuning {
  /** The unit of the retry backoff and of the rate limits' waits, in ms (tests shorten it). Default 1000. */
  retryUnitMs?: number;
  /** The least time between two writes, in ms (default 1000; 3000 before a new comment); tests shorten it. */
  writeSpacingMs?: number;
  now?: () => number;
}

/** Most waits for a rate limit in one call. */
export const MAX_LIMIT_WAITS = 3;

export async function loadOctokit(
  token: string,
  apiUrl: string | undefined,
  tuning: OctokitTuning = {},
): Promise<Octokit> {
  // One chunk name for the three: the bundle gets one lazy file, read only when GitHub is called.
  const [{ getOctokit }, { retry }, { throttling }, { default: Bottleneck }] = await Promise.all([
    import(/* webpackChunkName: "github" */ '@actions/github'),
    import(/* webpackChunkName: "github" */ '@octokit/plugin-retry'),
    import(/* webpackChunkName: "github" */ '@octokit/plugin-throttling'),
    import(/* webpackChunkName: "github" */ 'bottleneck/light.js'),
  ]);
  // The throttling's own write queues are shared by every client of the process; a client of its own spacing (tests)
  // gets queues of its own.
  const spacing =
    tuning.writeSpacingMs === undefined
      ? {}
      : {
          write: new Bottleneck.Group({
            id: 'scalingo-deploy-write',
            maxConcurrent: 1,
            minTime: tuning.writeSpacingMs,
          }),
          notifications: new Bottleneck.Group({
            id: 'scalingo-deploy-notifications',
            maxConcurrent: 1,
            minTime: 3 * tuning.writeSpacingMs,
          }),
        };
  const unit = tuning.retryUnitMs ?? 1000;
  const now = tuning.now ?? Date.now;
  const onLimit =
    (kind: string) =>
    (retryAfter: number, options: { request?: Partial<CallBudget> }, _o: unknown, retryCount: number): boolean => {
      const budget = options.request;
      const left = budget?.deadline === undefined ? Infinity : budget.deadline - now();
      const waitMs = retryAfter * unit;
      if (retryCount < MAX_LIMIT_WAITS && waitMs < left && !budget?.signal?.aborted) return true;
      budget?.noteLimit?.(
        retryCount >= MAX_LIMIT_WAITS
          ? `GitHub's ${kind} rate limit held after ${MAX_LIMIT_WAITS} waits`
          : `GitHub's ${kind} rate limit asked to wait ${Math.ceil(retryAfter)} s, more than the ${Math.max(0, Math.floor(left / unit))} s left for this call (request-timeout-seconds)`,
      );
      return false;
    };
  return getOctokit(
    token,
    {
      ...(apiUrl ? { baseUrl: apiUrl } : {}),
      retry: { retries: 2, retryAfterBaseValue: unit, doNotRetry: [400, 401, 403, 404, 410, 422, 429, 451] },
      throttle: {
        ...spacing,
        retryAfterBaseValue: unit,
        onRateLimit: onLimit('primary'),
        onSecondaryRateLimit: onLimit('secondary'),
      },
    },
    retry,
    throttling,
  );
}
