// @ts-check
/**
 * @file The live suite's steps, in the order a run takes them: the read-only reads, the deployments stream with and
 * without Origin, the writes (a manual deploy, a manual review app and its deployments), and the rate-limit probe,
 * last. Each step records its answers through the run and notes what it saw in `run.obs` for the questions.
 */
import { isRecord } from '../contract/shape.js';
import { basic, call } from '../contract/wire.js';
import { field, KEPT_HEADERS, ok, shapeSummary, sleep, text } from './util.js';

/** @typedef {import('../contract/wire.js').RawAnswer} RawAnswer */
/** @typedef {import('../contract/wire.js').StreamSession} StreamSession */
/** @typedef {import('./live-run.js').LiveRun} LiveRun */
/** @typedef {import('./live-run.js').RecordedStream} RecordedStream */

/**
 * What the with-Origin stream and every later one said about log and new events.
 * @param {LiveRun} run
 */
export function observeFrames(run) {
  const frames = run.streams
    .filter((s) => s.origin)
    .flatMap((s) => s.frames)
    .map((f) => f.json)
    .filter(isRecord);
  const logs = frames
    .filter((f) => f.type === 'log')
    .map((f) => text(f.data, 'content'))
    .filter((c) => c !== undefined);
  run.obs.logFrames = {
    total: logs.length,
    endingWithNewline: logs.filter((c) => c.endsWith('\n')).length,
    severalLines: logs.filter((c) => c.replace(/\r?\n$/, '').includes('\n')).length,
  };
  const news = frames.filter((f) => f.type === 'new').map((f) => field(f.data, 'deployment'));
  run.obs.newEvents = {
    seen: news.length,
    kinds: [
      ...new Set(news.map((d) => (isRecord(d) ? 'an object' : typeof d === 'string' ? 'a string id' : typeof d))),
    ],
    keys: [...new Set(news.flatMap((d) => (isRecord(d) ? Object.keys(d) : [])))].sort(),
  };
}

/**
 * The read-only part.
 * @param {LiveRun} run
 */
export async function readOnly(run) {
  const { app } = run.config;
  const appPath = `/v1/apps/${encodeURIComponent(app)}`;
  run.say('Token exchange and the bearer');
  await run.exchange('token-exchange');
  await run.request('error-401-exchange', 'error-401', 'auth', 'POST', '/v1/tokens/exchange', {
    body: {},
    authorization: basic('tk-us-not-a-token-live-check'),
  });
  await run.request('error-401-bearer', 'error-401', 'api', 'GET', appPath, { authorization: 'Bearer not-a-bearer' });
  const selfAuth = await run.request('users-self', 'users-self', 'auth', 'GET', '/v1/users/self');
  const selfRegional = await run.request('users-self-regional', undefined, 'api', 'GET', '/v1/users/self');
  run.obs.usersSelf = { auth: selfAuth?.status, regional: selfRegional?.status };
  run.redactor.literal(text(field(selfAuth?.body, 'user'), 'username'), 'username');
  const integrations = field(
    await run.request('integrations-list', 'integrations-list', 'auth', 'GET', '/v1/scm_integrations'),
    'body',
  );
  const integrationList = field(integrations, 'scm_integrations');
  for (const integration of Array.isArray(integrationList) ? integrationList : []) {
    run.redactor.literal(text(integration, 'username'), 'scm-user');
    run.redactor.literal(text(integration, 'uid'), 'scm-uid');
  }

  run.say('The app and its link');
  const appAnswer = await run.request('app-show', 'app-show', 'api', 'GET', appPath);
  if (!ok(appAnswer))
    throw new Error(
      `GET ${appPath} answered ${appAnswer?.status ?? 'nothing'}: check SCALINGO_LIVE_APP and the region (SCALINGO_REGION, SCALINGO_API_URL)`,
    );
  const appBody = field(appAnswer?.body, 'app');
  const linkAnswer = await run.request('link-show', 'link-show', 'api', 'GET', `${appPath}/scm_repo_link`);
  const link = field(linkAnswer?.body, 'scm_repo_link');
  run.learnNames(link);
  const lastAuto = field(link, 'last_auto_deploy_at');
  if (link !== undefined) run.obs.linkUnsetDate = { value: lastAuto === null ? 'null' : JSON.stringify(lastAuto) };

  run.say('The list of links, every page');
  const listed = await run.allLinks('links-list');
  run.obs.pagination = {
    pages: listed.pages,
    prevPage: listed.prev,
    nextPage: listed.next,
    perPageKey: listed.perPageKey,
  };

  run.say('Deployments');
  const deployments = await run.request(
    'deployments-list',
    'deployments-list',
    'api',
    'GET',
    `${appPath}/deployments?page=1&per_page=10`,
  );
  const list = field(deployments?.body, 'deployments');
  const items = Array.isArray(list) ? list.filter(isRecord) : [];
  const newest = items[0];
  if (newest) {
    const success = items.find((d) => d.status === 'success');
    const last = field(appBody, 'last_deployment_id');
    run.obs.lastDeployment = {
      newest: { id: String(newest.id), status: String(newest.status) },
      ...(success && { newestSuccess: { id: String(success.id) } }),
      lastDeploymentId: typeof last === 'string' || last === null ? last : undefined,
    };
    const id = encodeURIComponent(String(newest.id));
    const shown = await run.request('deployment-show', 'deployment-show', 'api', 'GET', `${appPath}/deployments/${id}`);
    await run.request('deployment-output', 'deployment-output', 'api', 'GET', `${appPath}/deployments/${id}/output`);
    const output = text(field(field(shown?.body, 'deployment'), 'links'), 'output');
    if (output) {
      try {
        const url = new URL(output);
        run.obs.outputLink = {
          sameHost: url.host === new URL(run.config.apiUrl).host,
          path: run.redactor.text(url.pathname),
        };
      } catch {
        run.obs.outputLink = { sameHost: false, path: `not a URL: ${run.redactor.text(output)}` };
      }
    }
  } else {
    run.say('  the app has no deployment: deploy it once (or run with SCALINGO_LIVE_WRITE=1) to record one');
  }
  await run.request('unknown-route', undefined, 'api', 'GET', `${appPath}/scm_repo_link/no-such-endpoint`);
  const unknown = run.records.find((r) => r.label === 'unknown-route');
  if (unknown)
    run.obs.unknownRoute = {
      status: unknown.status,
      body: run.redactor.text(JSON.stringify(unknown.body)).slice(0, 160),
    };
  await run.request('error-404', 'error-404', 'api', 'GET', `/v1/apps/no-such-app-${Date.now().toString(36)}`);

  run.say('Review apps');
  await reviewAppsSeen(run, 'review-apps-list', listed.links);
}

/**
 * Reads the review app list and each review app's own link (three at most).
 * @param {LiveRun} run
 * @param {string} label
 * @param {unknown[]} links The list of links, to see whether review apps' links are in it.
 */
async function reviewAppsSeen(run, label, links) {
  const appPath = `/v1/apps/${encodeURIComponent(run.config.app)}`;
  const answer = await run.request(label, 'review-apps-list', 'api', 'GET', `${appPath}/scm_repo_link/review_apps`);
  const list = field(answer?.body, 'review_apps');
  const reviewApps = Array.isArray(list) ? list.filter(isRecord) : [];
  for (const [i, ra] of reviewApps.entries()) {
    run.redactor.literal(text(ra, 'app_name'), `review-app-${i + 1}`);
    // A pull request from a fork names the fork's owner.
    run.redactor.literal(text(field(ra, 'pull_request'), 'source_repo_name')?.split('/')[0], 'source-owner');
    run.redactor.literal(text(field(ra, 'pull_request'), 'branch_name')?.split(':')[0], 'source-owner');
  }
  const pulls = reviewApps.map((ra) => field(ra, 'pull_request'));
  run.obs.reviewAppListBranch = {
    values: pulls
      .map((p) => text(p, 'branch_name'))
      .filter((v) => v !== undefined)
      .map((v) => run.redactor.text(v)),
  };
  run.obs.reviewAppDates = {
    onClose: reviewApps
      .filter((ra) => text(field(ra, 'pull_request'), 'closed_at')?.startsWith('0001-') ?? true)
      .map((ra) => String(field(ra, 'on_close_deletion_date'))),
    closedAt: pulls.map((p) => String(field(p, 'closed_at'))),
    stale: reviewApps.map((ra) => String(field(ra, 'stale_deletion_date'))),
  };
  const listedAppIds = new Set(links.map((l) => text(l, 'app_id')));
  run.obs.reviewAppLinksListed = {
    reviewApps: reviewApps.length,
    listed: reviewApps.filter((ra) => listedAppIds.has(text(ra, 'app_id'))).length,
  };
  /** @type {string[]} */
  const branches = [];
  for (const [i, ra] of reviewApps.slice(0, 3).entries()) {
    const name = text(ra, 'app_name');
    if (!name) continue;
    const own = await run.request(
      `${label}-link-${i + 1}`,
      'link-show',
      'api',
      'GET',
      `/v1/apps/${encodeURIComponent(name)}/scm_repo_link`,
    );
    const branch = text(field(own?.body, 'scm_repo_link'), 'branch');
    if (branch !== undefined) branches.push(run.redactor.text(branch));
  }
  run.obs.reviewAppLinkBranch = { values: branches };
  return reviewApps;
}

/**
 * Opens the stream without Origin (briefly) and with it (`streamSeconds`), and leaves the second open.
 * @param {LiveRun} run
 * @param {string} url
 */
export async function streamProbe(run, url) {
  run.say('The deployments stream');
  const bare = await run.openStream('stream-without-origin', url, false);
  if (bare.session.outcome === 'open') {
    await bare.session.waitFor(() => true, 3_000);
    await bare.session.keepOpen(500);
  }
  run.obs.streamNoOrigin = {
    outcome: bare.session.outcome,
    ...(bare.session.httpStatus !== undefined && { httpStatus: bare.session.httpStatus }),
    framesAfterAuth: bare.session.frames.length,
    closedAfterAuth: bare.session.outcome === 'open' && bare.session.closed !== undefined,
  };
  await bare.session.close();
  bare.record.closed = bare.session.closed;

  const withOrigin = await run.openStream('stream', url, true);
  if (withOrigin.session.outcome === 'open') {
    run.say(`  keeping it open ${run.config.streamSeconds} s`);
    await withOrigin.session.keepOpen(run.config.streamSeconds * 1000);
  }
  const frames = withOrigin.session.frames;
  run.obs.streamWithOrigin = {
    outcome: withOrigin.session.outcome,
    ...(withOrigin.session.httpStatus !== undefined && { httpStatus: withOrigin.session.httpStatus }),
    framesAfterAuth: frames.length,
    ...(frames[0] && { firstFrameType: String(field(frames[0].json, 'type') ?? 'unreadable') }),
    replayedLogs: frames.filter((f) => f.at <= 1_500 && field(f.json, 'type') === 'log').length,
    pings: frames.filter((f) => field(f.json, 'type') === 'ping').map((f) => f.at),
    seconds: run.config.streamSeconds,
  };
  return withOrigin;
}

/**
 * The write part: a manual deploy of the app followed to its end, then (with a pull request) its review app.
 * @param {LiveRun} run
 * @param {{ session: StreamSession, record: RecordedStream } | undefined} stream The app's open stream.
 */
export async function writes(run, stream) {
  const { app } = run.config;
  const appPath = `/v1/apps/${encodeURIComponent(app)}`;
  const link = field(run.records.find((r) => r.label === 'link-show')?.body, 'scm_repo_link');
  const branch = run.config.branch ?? text(link, 'branch');
  if (!branch) {
    run.fail('write mode needs the app linked to its repository (or SCALINGO_LIVE_BRANCH): no manual deploy');
    return;
  }
  run.say(`Manual deploy of the app's branch, followed to its end`);
  const deploy = await run.request(
    'manual-deploy',
    'manual-deploy',
    'api',
    'POST',
    `${appPath}/scm_repo_link/manual_deploy`,
    { body: { branch } },
  );
  const id = text(field(deploy?.body, 'deployment'), 'id');
  run.obs.appDeploy = { status: deploy?.status ?? 0 };
  if (ok(deploy) && id) {
    const end = await run.follow(app, id, stream, 'manual-deploy-end');
    run.obs.appDeploy = { status: deploy?.status ?? 0, ...end };
    await run.request(
      'manual-deploy-output',
      'deployment-output',
      'api',
      'GET',
      `${appPath}/deployments/${encodeURIComponent(id)}/output`,
    );
  }
  if (run.config.pr !== undefined) await reviewApp(run, run.config.pr);
}

/**
 * A manual review app of pull request `pr`: its answer, a second call, its own link read and PATCHed, its
 * deployment with the bare branch and once with owner:branch.
 * @param {LiveRun} run
 * @param {number} pr
 */
async function reviewApp(run, pr) {
  const { app } = run.config;
  const appPath = `/v1/apps/${encodeURIComponent(app)}`;
  const before = await run.request(
    'review-apps-before',
    'review-apps-list',
    'api',
    'GET',
    `${appPath}/scm_repo_link/review_apps`,
  );
  const listBefore = field(before?.body, 'review_apps');
  const existed =
    Array.isArray(listBefore) && listBefore.some((ra) => Number(field(field(ra, 'pull_request'), 'number')) === pr);

  run.say(`Manual review app of pull request #${pr}${existed ? ' (it exists already)' : ''}`);
  const created = await run.request(
    'manual-review-app',
    'manual-review-app',
    'api',
    'POST',
    `${appPath}/scm_repo_link/manual_review_app`,
    { body: { pull_request_id: pr } },
  );
  const summary = (/** @type {RawAnswer | undefined} */ raw) =>
    raw
      ? run.redactor.text(
          raw.content === 'json' ? JSON.stringify(shapeSummary(raw.body)) : JSON.stringify(raw.text.slice(0, 120)),
        )
      : 'no answer';
  run.obs.reviewAppAnswer = { status: created?.status ?? 0, body: summary(created) };
  const again = await run.request(
    'manual-review-app-again',
    undefined,
    'api',
    'POST',
    `${appPath}/scm_repo_link/manual_review_app`,
    { body: { pull_request_id: pr } },
  );
  if (again) {
    run.obs.reviewAppAgain = { status: again.status, body: summary(again), existedBefore: existed };
    const record = run.records.find((r) => r.label === 'manual-review-app-again');
    if (record && ok(again)) record.answer = 'manual-review-app';
  }

  // Its name: from the answer, else from the list, else Scalingo's naming.
  let name = text(field(created?.body, 'review_app'), 'app_name');
  const waitUntil = Date.now() + run.config.reviewAppWaitSeconds * 1000;
  /** @type {Record<string, unknown> | undefined} */
  let entry;
  while (Date.now() <= waitUntil) {
    const listed = await run.request(
      'review-apps-after',
      'review-apps-list',
      'api',
      'GET',
      `${appPath}/scm_repo_link/review_apps`,
      { quiet: true },
    );
    const items = field(listed?.body, 'review_apps');
    entry = Array.isArray(items)
      ? items.filter(isRecord).find((ra) => Number(field(field(ra, 'pull_request'), 'number')) === pr)
      : undefined;
    if (entry) break;
    await sleep(Math.min(run.config.pollSeconds * 1000, 10_000));
  }
  name ??= text(entry, 'app_name') ?? `${app}-pr${pr}`;
  run.redactor.literal(name, 'review-app');
  const raPath = `/v1/apps/${encodeURIComponent(name)}`;

  // Its own link, once it exists.
  /** @type {RawAnswer | undefined} */
  let own;
  while (Date.now() <= waitUntil + run.config.reviewAppWaitSeconds * 1000) {
    own = await run.request('review-app-link-show', 'link-show', 'api', 'GET', `${raPath}/scm_repo_link`);
    if (ok(own) || (own && own.status !== 404)) break;
    await sleep(Math.min(run.config.pollSeconds * 1000, 10_000));
  }
  const ownLink = field(own?.body, 'scm_repo_link');
  const ownBranch = text(ownLink, 'branch');
  if (ownBranch !== undefined)
    run.obs.reviewAppLinkBranch = {
      values: [run.redactor.text(ownBranch), ...(run.obs.reviewAppLinkBranch?.values ?? [])],
    };

  // Deployments Scalingo starts by itself (correction 2), watched for a while before ours.
  const started = Date.now();
  /** @type {number} */
  let early;
  do {
    const listed = await run.request(
      'review-app-deployments',
      'deployments-list',
      'api',
      'GET',
      `${raPath}/deployments?page=1&per_page=10`,
      { quiet: true },
    );
    const items = field(listed?.body, 'deployments');
    early = Array.isArray(items) ? items.length : 0;
    if (early > 0 || existed) break;
    await sleep(Math.min(run.config.pollSeconds * 1000, 10_000));
  } while (Date.now() - started < run.config.reviewAppWaitSeconds * 1000);
  run.obs.reviewAppSelfDeploy = {
    existedBefore: existed,
    deployments: early,
    waitedSeconds: Math.round((Date.now() - started) / 1000),
  };

  if (ok(own)) {
    await run.request('review-app-link-update', 'link-update', 'api', 'PATCH', `${raPath}/scm_repo_link`, {
      body: { scm_repo_link: { auto_deploy_enabled: false } },
    });
  }
  const listedAfter = await run.allLinks('links-list-after-review-app');
  const raAppId = text(ownLink, 'app_id');
  if (raAppId) {
    const known = run.obs.reviewAppLinksListed;
    const inList = listedAfter.links.some((l) => text(l, 'app_id') === raAppId);
    run.obs.reviewAppLinksListed = {
      reviewApps: Math.max(1, known?.reviewApps ?? 0),
      listed: inList ? Math.max(1, known?.listed ?? 0) : 0,
    };
  }
  await run.request('review-apps-list-after', 'review-apps-list', 'api', 'GET', `${appPath}/scm_repo_link/review_apps`);

  // Its deployment with the bare branch, then once with the label.
  const label = text(field(entry, 'pull_request'), 'branch_name') ?? ownBranch;
  const bare = run.config.prBranch ?? (label?.includes(':') ? label.slice(label.indexOf(':') + 1) : label);
  if (!bare) {
    run.fail("the pull request's head branch is unknown: set SCALINGO_LIVE_PR_BRANCH");
    return;
  }
  const raApp = await run.request('review-app-show', 'app-show', 'api', 'GET', raPath);
  const streamUrl = text(field(field(raApp?.body, 'app'), 'links'), 'deployments_stream');
  const stream = streamUrl ? await run.openStream('review-app-stream', streamUrl, true) : undefined;
  try {
    run.say('The review app deployed with the bare branch');
    const deploy = await run.request(
      'review-app-manual-deploy',
      'manual-deploy',
      'api',
      'POST',
      `${raPath}/scm_repo_link/manual_deploy`,
      { body: { branch: bare } },
    );
    const id = text(field(deploy?.body, 'deployment'), 'id');
    run.obs.bareDeploy = { status: deploy?.status ?? 0 };
    let bareRef;
    if (ok(deploy) && id) {
      const end = await run.follow(name, id, stream, 'review-app-manual-deploy-end');
      bareRef = end.gitRef;
      run.obs.bareDeploy = { status: deploy?.status ?? 0, ...end };
    }

    const owner = label?.includes(':') ? label.slice(0, label.indexOf(':')) : text(ownLink, 'owner');
    if (owner) {
      run.say('The review app deployed once with owner:branch, to record the answer');
      const labelled = await run.request(
        'review-app-manual-deploy-label',
        undefined,
        'api',
        'POST',
        `${raPath}/scm_repo_link/manual_deploy`,
        { body: { branch: `${owner}:${bare}` } },
      );
      const labelId = text(field(labelled?.body, 'deployment'), 'id');
      const record = run.records.find((r) => r.label === 'review-app-manual-deploy-label');
      if (record && ok(labelled)) record.answer = 'manual-deploy';
      run.obs.labelDeploy = { status: labelled?.status ?? 0, body: summary(labelled) };
      if (ok(labelled) && labelId) {
        const end = await run.follow(name, labelId, stream, 'review-app-manual-deploy-label-end');
        run.obs.labelDeploy = {
          ...run.obs.labelDeploy,
          ...(end.finalStatus && { finalStatus: end.finalStatus }),
          ...(end.gitRef && bareRef && { sameCommitAsBare: end.gitRef === bareRef }),
        };
      }
    }
  } finally {
    await stream?.session.close();
  }
}

/**
 * The last step: requests until Scalingo rate-limits the token (60 a minute documented), to record that answer.
 * @param {LiveRun} run
 */
export async function rateLimitProbe(run) {
  const max = run.config.rateLimitRequests;
  if (max === 0) return;
  run.say(`Rate limit: up to ${max} reads of the app until a 429`);
  const path = `/v1/apps/${encodeURIComponent(run.config.app)}`;
  for (let i = 1; i <= max; i++) {
    let raw;
    try {
      raw = await call(run.config.apiUrl, 'GET', path, { authorization: `Bearer ${run.bearer}` });
    } catch (error) {
      run.fail(`rate-limit probe: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    if (raw.status === 429) {
      const headers = Object.fromEntries(
        Object.entries(raw.headers).filter(
          ([name]) => KEPT_HEADERS.test(name) && name !== 'content-type' && name !== 'x-request-id',
        ),
      );
      run.records.push({
        label: 'rate-limited',
        answer: 'error-429',
        request: { service: 'api', method: 'GET', path },
        status: raw.status,
        headers: { ...headers, 'content-type': raw.headers['content-type'] ?? '' },
        content: raw.content,
        body: raw.body,
        ms: raw.ms,
      });
      run.obs.rateLimit = {
        requests: i,
        status: raw.status,
        contentType: raw.headers['content-type'] ?? '',
        body: run.redactor.text(JSON.stringify(raw.content === 'json' ? raw.body : raw.text.slice(0, 80))),
        headers,
      };
      run.say(`  429 after ${i} requests`);
      return;
    }
  }
  run.obs.rateLimit = { requests: max };
  run.say(`  no 429 in ${max} requests`);
}
