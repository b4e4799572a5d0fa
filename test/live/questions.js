// @ts-check
/**
 * @file The open questions about Scalingo that one live run settles: the corrections of the API notes that rest on
 * third-party evidence or on nothing, the five questions of the third audit, and what the docs and the clients
 * disagree on. Each question reads the observations the run made and answers, or says what it needs to be answered.
 */

/**
 * What the run saw. Every field is optional: a step that did not run, or failed, leaves its field out.
 * @typedef {object} Observations
 * @property {'read-only' | 'write'} mode
 * @property {boolean} pullRequest Whether SCALINGO_LIVE_PR was given (write mode).
 * @property {{ claims: boolean, lifetimeSeconds?: number, expiresInSeconds?: number }} [bearer]
 * @property {{ auth?: number, regional?: number }} [usersSelf] Statuses of GET /v1/users/self on each host.
 * @property {{ newest?: { id: string, status: string }, newestSuccess?: { id: string }, lastDeploymentId?: string | null }} [lastDeployment]
 * @property {{ sameHost: boolean, path: string }} [outputLink] Where links.output points (path with placeholders).
 * @property {{ pages: number, prevPage: unknown[], nextPage: unknown[], perPageKey: boolean }} [pagination]
 * @property {{ status: number, body: string }} [unknownRoute]
 * @property {{ value: string }} [linkUnsetDate] last_auto_deploy_at of the link as read (redacted form).
 * @property {{ reviewApps: number, listed: number }} [reviewAppLinksListed] Review apps whose own link is in the list.
 * @property {{ values: string[] }} [reviewAppLinkBranch] `branch` of review apps' own links (redacted).
 * @property {{ values: string[] }} [reviewAppListBranch] `pull_request.branch_name` of the review app list (redacted).
 * @property {{ onClose: string[], closedAt: string[], stale: string[] }} [reviewAppDates]
 * @property {{ outcome: string, httpStatus?: number, framesAfterAuth: number, closedAfterAuth: boolean }} [streamNoOrigin]
 * @property {{ outcome: string, httpStatus?: number, framesAfterAuth: number, firstFrameType?: string, replayedLogs: number, pings: number[], seconds: number }} [streamWithOrigin]
 * @property {{ total: number, endingWithNewline: number, severalLines: number }} [logFrames]
 * @property {{ seen: number, kinds: string[], keys: string[] }} [newEvents]
 * @property {{ requests: number, status?: number, contentType?: string, body?: string, headers?: Record<string, string> }} [rateLimit]
 * @property {{ status: number, body: string }} [reviewAppAnswer]
 * @property {{ status: number, body: string, existedBefore: boolean }} [reviewAppAgain]
 * @property {{ existedBefore: boolean, deployments: number, waitedSeconds: number }} [reviewAppSelfDeploy]
 * @property {{ status: number, body: string, finalStatus?: string, sameCommitAsBare?: boolean }} [labelDeploy]
 * @property {{ status: number, finalStatus?: string, seconds?: number }} [bareDeploy]
 * @property {{ status: number, finalStatus?: string, seconds?: number, followedBy?: string }} [appDeploy]
 */

/**
 * @typedef {object} Question
 * @property {string} id
 * @property {string} topic Where it comes from.
 * @property {string} question
 * @property {'read' | 'write' | 'write+pr'} needs The mode that can settle it.
 * @property {(o: Observations) => string | undefined} answer Undefined: not seen in this run.
 */

/** @param {string[]} values */
const sample = (values) =>
  [...new Set(values)]
    .slice(0, 3)
    .map((v) => JSON.stringify(v))
    .join(', ');
const LABEL = /^[^:/\s]+:.+$/;

/** @type {Question[]} */
export const QUESTIONS = [
  {
    id: 'branch-label-deploy',
    topic: 'third audit 1, correction 1',
    needs: 'write+pr',
    question: 'Does manual_deploy accept a branch given as owner:branch (the head label)?',
    answer: ({ labelDeploy: d }) =>
      d &&
      (d.status >= 200 && d.status < 300
        ? `accepted (${d.status})${d.finalStatus ? `, the deployment ended ${d.finalStatus}` : ''}${d.sameCommitAsBare === undefined ? '' : d.sameCommitAsBare ? ', same commit as the bare branch' : ', another commit than the bare branch'}`
        : `refused: ${d.status} ${d.body}`),
  },
  {
    id: 'review-app-links-listed',
    topic: 'third audit 2, correction 3',
    needs: 'read',
    question: "Do review apps' own links appear in GET /v1/scm_repo_links?",
    answer: ({ reviewAppLinksListed: r }) =>
      r && r.reviewApps > 0
        ? r.listed === 0
          ? `no (none of ${r.reviewApps})`
          : `yes (${r.listed} of ${r.reviewApps})`
        : undefined,
  },
  {
    id: 'log-newline',
    topic: 'third audit 3, correction 4',
    needs: 'read',
    question: "Does a stream log event's content end with a newline?",
    answer: ({ logFrames: l }) =>
      l && l.total > 0
        ? `${l.endingWithNewline === l.total ? 'yes, all' : l.endingWithNewline === 0 ? 'no, none' : `${l.endingWithNewline} of`} ${l.total} end with a newline; ${l.severalLines} carry several lines`
        : undefined,
  },
  {
    id: 'origin-checked',
    topic: 'third audit 4',
    needs: 'read',
    question: 'Does the deployments stream check the Origin header?',
    answer: ({ streamNoOrigin: n, streamWithOrigin: w }) => {
      if (!n || !w) return undefined;
      if (n.outcome !== 'open')
        return `yes: without Origin the upgrade was ${n.outcome}${n.httpStatus ? ` (HTTP ${n.httpStatus})` : ''}; with it, ${w.outcome}`;
      if (n.closedAfterAuth && n.framesAfterAuth === 0)
        return 'the socket opened without Origin but closed after the auth frame';
      return `no: without Origin the stream opened and sent ${n.framesAfterAuth} frame(s) after the auth frame`;
    },
  },
  {
    id: 'rate-limited',
    topic: 'third audit 5',
    needs: 'read',
    question: 'What does a rate-limited answer look like?',
    answer: ({ rateLimit: r }) =>
      r &&
      (r.status === undefined
        ? `no 429 in ${r.requests} requests`
        : `${r.status} after ${r.requests} requests, ${r.contentType || 'no content type'}, body ${r.body}${Object.keys(r.headers ?? {}).length ? `, headers ${JSON.stringify(r.headers)}` : ', no Retry-After nor rate-limit header'}`),
  },
  {
    id: 'review-app-answer',
    topic: 'API notes 3.2',
    needs: 'write+pr',
    question: 'What does manual_review_app answer?',
    answer: ({ reviewAppAnswer: r }) => r && `${r.status} ${r.body}`,
  },
  {
    id: 'review-app-duplicate',
    topic: 'API notes 3.3',
    needs: 'write+pr',
    question: 'Is a second manual_review_app for the same pull request refused, and how?',
    answer: ({ reviewAppAgain: r }) =>
      r && `${r.status >= 200 && r.status < 300 ? 'not refused' : 'refused'}: ${r.status} ${r.body}`,
  },
  {
    id: 'bearer-lifetime',
    topic: 'API notes 1.1',
    needs: 'read',
    question: 'How long does a bearer token last?',
    answer: ({ bearer: b }) =>
      b &&
      (b.claims
        ? `${b.lifetimeSeconds !== undefined ? `${b.lifetimeSeconds} s (exp - iat)` : `expires in ${b.expiresInSeconds} s`}`
        : 'the bearer is not a JWT with an exp claim'),
  },
  {
    id: 'new-object',
    topic: 'API notes 10',
    needs: 'write',
    question: "Does the stream's new event carry the deployment as an object (with its pusher or user)?",
    answer: ({ newEvents: n }) =>
      n && n.seen > 0 ? `${n.kinds.join(' and ')}${n.keys.length ? `, keys ${n.keys.join(', ')}` : ''}` : undefined,
  },
  {
    id: 'review-app-link-branch',
    topic: 'correction 1',
    needs: 'read',
    question: "Does a review app's own link store its branch as owner:branch?",
    answer: ({ reviewAppLinkBranch: r }) =>
      r && r.values.length > 0
        ? `${r.values.every((v) => LABEL.test(v)) ? 'yes' : r.values.some((v) => LABEL.test(v)) ? 'some' : 'no'}: ${sample(r.values)}`
        : undefined,
  },
  {
    id: 'review-app-list-branch',
    topic: 'correction 1',
    needs: 'read',
    question: "Is the review app list's pull_request.branch_name the label owner:branch?",
    answer: ({ reviewAppListBranch: r }) =>
      r && r.values.length > 0
        ? `${r.values.every((v) => LABEL.test(v)) ? 'yes' : r.values.some((v) => LABEL.test(v)) ? 'some' : 'no'}: ${sample(r.values)}`
        : undefined,
  },
  {
    id: 'review-app-self-deploy',
    topic: 'correction 2',
    needs: 'write+pr',
    question: 'Does a new review app start its first deployment by itself?',
    answer: ({ reviewAppSelfDeploy: r }) =>
      r &&
      (r.existedBefore
        ? 'not settled: the review app existed before the run (close and reopen the pull request for a new one)'
        : r.deployments > 0
          ? `yes: ${r.deployments} deployment(s) within ${r.waitedSeconds} s, before ours`
          : `no deployment within ${r.waitedSeconds} s`),
  },
  {
    id: 'review-app-dates',
    topic: 'correction 5',
    needs: 'read',
    question: 'Review app list dates of an open pull request: on_close_deletion_date, closed_at, stale_deletion_date?',
    answer: ({ reviewAppDates: d }) =>
      d && d.onClose.length > 0
        ? `on_close_deletion_date ${sample(d.onClose)}; closed_at ${sample(d.closedAt)}; stale_deletion_date ${sample(d.stale)}`
        : undefined,
  },
  {
    id: 'last-deployment-id',
    topic: 'second audit 3',
    needs: 'read',
    question: 'Is app.last_deployment_id the last successful deployment rather than the newest?',
    answer: ({ lastDeployment: l }) => {
      if (!l || !l.newest) return undefined;
      if (l.lastDeploymentId === undefined) return 'the app has no last_deployment_id';
      const isNewest = l.lastDeploymentId === l.newest.id;
      const isSuccess = l.newestSuccess !== undefined && l.lastDeploymentId === l.newestSuccess.id;
      if (l.newest.status === 'success')
        return `not told apart: the newest deployment succeeded (last_deployment_id is ${isNewest ? 'it' : 'another one'})`;
      return isSuccess
        ? 'yes: it is the newest successful one, not the newest'
        : isNewest
          ? 'no: it is the newest, which did not succeed'
          : 'neither the newest nor the newest successful one in the first page';
    },
  },
  {
    id: 'stream-replay',
    topic: 'second audit 6',
    needs: 'read',
    question: 'Does the stream replay existing logs on connect?',
    answer: ({ streamWithOrigin: w }) =>
      w && w.outcome === 'open'
        ? w.replayedLogs > 0
          ? `yes: ${w.replayedLogs} log event(s) in the first second`
          : 'no log event in the first second'
        : undefined,
  },
  {
    id: 'ping-interval',
    topic: 'API notes 10',
    needs: 'read',
    question: 'How often does the stream send pings?',
    answer: ({ streamWithOrigin: w }) => {
      if (!w || w.outcome !== 'open') return undefined;
      if (w.pings.length === 0) return `no ping in ${w.seconds} s`;
      const gaps = w.pings
        .slice(1)
        .map((at, i) => at - (w.pings[i] ?? 0))
        .sort((a, b) => a - b);
      const median = gaps[Math.floor(gaps.length / 2)];
      return `${w.pings.length} ping(s) in ${w.seconds} s${median !== undefined ? `, every ${(median / 1000).toFixed(1)} s` : ', the first after ' + ((w.pings[0] ?? 0) / 1000).toFixed(1) + ' s'}`;
    },
  },
  {
    id: 'auth-ack',
    topic: 'API notes 10',
    needs: 'read',
    question: "Is the stream's auth frame acknowledged?",
    answer: ({ streamWithOrigin: w }) =>
      w && w.outcome === 'open'
        ? w.firstFrameType
          ? `the first frame after it is a ${w.firstFrameType} frame`
          : 'no frame at all after it'
        : undefined,
  },
  {
    id: 'output-link',
    topic: 'API notes 4',
    needs: 'read',
    question: "Where does a deployment's links.output point?",
    answer: ({ outputLink: o }) =>
      o && `${o.sameHost ? 'the regional API' : 'another host than the regional API'}, ${o.path}`,
  },
  {
    id: 'pagination-nulls',
    topic: 'API notes 5 (docs and go-utils disagree)',
    needs: 'read',
    question: "Are prev_page/next_page null when there is none (docs), or numbers (go-utils' Meta)?",
    answer: ({ pagination: p }) =>
      p &&
      `prev_page ${sample(p.prevPage.map(String))}, next_page ${sample(p.nextPage.map(String))} over ${p.pages} page(s)${p.perPageKey ? ', per_page given' : ''}`,
  },
  {
    id: 'unknown-route',
    topic: 'API notes 5 (404 without resource)',
    needs: 'read',
    question: 'What does an unknown route under a known app answer?',
    answer: ({ unknownRoute: u }) => u && `${u.status} ${u.body}`,
  },
  {
    id: 'users-self-host',
    topic: 'docs and the Go client disagree',
    needs: 'read',
    question: 'Is GET /v1/users/self served by the auth service (Go client) or the regional API (docs)?',
    answer: ({ usersSelf: u }) =>
      u && `auth service: ${u.auth ?? 'not asked'}; regional API: ${u.regional ?? 'not asked'}`,
  },
  {
    id: 'link-unset-date',
    topic: 'contract (fake gives null)',
    needs: 'read',
    question: "What is last_auto_deploy_at of the app's link (null, Go's zero time, a date)?",
    answer: ({ linkUnsetDate: l }) => l && l.value,
  },
  {
    id: 'manual-deploy-followed',
    topic: 'write mode',
    needs: 'write',
    question: 'Did a manual deploy of the app run to its end on the stream?',
    answer: ({ appDeploy: d }) =>
      d &&
      (d.status >= 200 && d.status < 300
        ? `${d.finalStatus ? `ended ${d.finalStatus}${d.seconds !== undefined ? ` in ${d.seconds} s` : ''}${d.followedBy ? `, seen on ${d.followedBy}` : ''}` : 'no end seen before the timeout'}`
        : `refused: ${d.status}`),
  },
  {
    id: 'review-app-bare-deploy',
    topic: 'correction 1',
    needs: 'write+pr',
    question: 'Does manual_deploy with the bare branch deploy the review app?',
    answer: ({ bareDeploy: d }) =>
      d &&
      (d.status >= 200 && d.status < 300
        ? `accepted${d.finalStatus ? `, ended ${d.finalStatus}` : ', no end seen before the timeout'}`
        : `refused: ${d.status}`),
  },
];

/**
 * @param {Observations} observations
 * @returns {{ id: string, topic: string, question: string, settled: boolean, answer: string }[]}
 */
export function answerQuestions(observations) {
  return QUESTIONS.map((q) => {
    const answer = q.answer(observations);
    if (answer !== undefined) return { id: q.id, topic: q.topic, question: q.question, settled: true, answer };
    const missing =
      q.needs === 'write+pr' && !(observations.mode === 'write' && observations.pullRequest)
        ? 'not settled: needs SCALINGO_LIVE_WRITE=1 and SCALINGO_LIVE_PR'
        : q.needs === 'write' && observations.mode !== 'write'
          ? 'not settled: needs SCALINGO_LIVE_WRITE=1'
          : 'not settled: not observed in this run (see the recorded answers)';
    return { id: q.id, topic: q.topic, question: q.question, settled: false, answer: missing };
  });
}

/**
 * A plain-text table for the console.
 * @param {ReturnType<typeof answerQuestions>} rows
 */
export function questionsTable(rows) {
  const width = Math.max(...rows.map((r) => r.question.length));
  return rows
    .map(
      (r, i) =>
        `${String(i + 1).padStart(2)}. ${r.settled ? 'SETTLED' : 'open   '}  ${r.question.padEnd(width)}  ${r.answer}`,
    )
    .join('\n');
}

/**
 * The same as Markdown, for the recorded answers and the workflow's summary.
 * @param {ReturnType<typeof answerQuestions>} rows
 */
export function questionsMarkdown(rows) {
  const cell = (/** @type {string} */ text) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  return [
    '| # | question | answer | from |',
    '| --- | --- | --- | --- |',
    ...rows.map(
      (r, i) =>
        `| ${i + 1} | ${cell(r.question)} | ${r.settled ? '' : '*'}${cell(r.answer)}${r.settled ? '' : '*'} | ${cell(r.topic)} |`,
    ),
  ].join('\n');
}
