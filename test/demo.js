// @ts-check
/**
 * @file `npm run demo`: starts the bundled fake Scalingo API (and a fake GitHub API for the pull request comment) and
 * runs the built action against them, as GitHub's runner would: a push to the main branch, a pull request whose review
 * app deploys, another whose build fails; then the command line as a GitLab merge request job would. Prints what a
 * user sees: the step's log, its job summary, the pull request comment, and the GitLab job's dotenv report.
 *
 * With DEMO_RESULTS=<file>, it also writes there (JSON) the push's job summary and the failed build's pull request
 * comment: the sources of the README's pictures (test/images/images.js).
 */
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { startFakeGitHub } from './support/fake-github.js';
import { startFakeScalingo } from './support/fake-scalingo.js';
import { runAction, runCli, TOKEN } from './support/runner.js';

const require = createRequire(import.meta.url);
/** @type {{ name: string, examples: Record<string, unknown>[] }[]} */
const webhooks = require('@octokit/webhooks-examples');

/**
 * @param {string} event
 * @param {(p: Record<string, unknown>) => boolean} match
 */
function payload(event, match) {
  const found = webhooks.find((e) => e.name === event)?.examples.find(match);
  if (!found) throw new Error(`no ${event} payload`);
  return found;
}

/** The head commit of the demo's pull request #3, whose build fails. */
const BROKEN_HEAD = 'b1d2c3e4f5a6978812345678901234567890abcd';
/** The commit of the demo's push (the runner's GITHUB_SHA). */
const PUSH_SHA = '6113728f27ae82c7b1a177c8d03f9e96e0adf246';

const bold = (/** @type {string} */ s) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);

/**
 * Shows a GitHub step log as the web UI does: groups as headings, annotations as such, runner commands hidden.
 * @param {string} stdout
 */
function renderGitHubLog(stdout) {
  const shown = [];
  for (const line of stdout.split('\n')) {
    if (/^::(add-mask|debug|set-output|endgroup)::/.test(line) || line === '::endgroup::') continue;
    const group = /^::group::(.*)$/.exec(line);
    const annotation = /^::(warning|error|notice)(?: title=([^:]*))?::(.*)$/.exec(line);
    if (group) shown.push(`  ▸ ${group[1]}`);
    else if (annotation)
      shown.push(
        `    ${annotation[1] === 'error' ? '❌ Error' : '⚠️ Warning'}${annotation[2] ? ` (${annotation[2]})` : ''}: ${annotation[3]}`,
      );
    else if (line) shown.push(`    ${line}`);
  }
  return shown.join('\n');
}

const indent = (/** @type {string} */ text) =>
  text
    .trim()
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');

/**
 * @param {string} title
 * @param {import('./support/runner.js').RunResult} result
 * @param {string} [comment] The pull request comment the step left.
 */
function show(title, result, comment) {
  console.log(`\n${bold(`━━ ${title} ━━`)}  (exit code ${result.code})\n`);
  console.log(renderGitHubLog(result.stdout));
  console.log(`\n  ${bold('Job summary')}`);
  console.log(indent(result.summary));
  if (comment) {
    console.log(`\n  ${bold('Pull request comment')}`);
    console.log(indent(comment));
  }
}

async function main() {
  const fake = await startFakeScalingo({
    apps: { 'my-app': {}, 'web-front': {} },
    links: {
      'my-app': {
        source: 'https://github.com/Codertocat/Hello-World',
        branch: 'master',
        auto_deploy_enabled: false,
        delete_on_close_enabled: true,
      },
      'web-front': { source: 'https://gitlab.com/acme/web-front', branch: 'main', auto_deploy_enabled: false },
    },
    deployScript: { durationMs: 2500, final: 'success' },
    // The review app of pull request #3 fails to build.
    deployScripts: { 'my-app-pr3': ['queued', 'building', 'building', 'build-error'] },
    // The heads are the commits of their events: Scalingo builds what each run was started for.
    branchHeads: { master: PUSH_SHA, changes: 'ec26c3e57ca3a959ca5aad62de7213c562f8c821', 'broken-build': BROKEN_HEAD },
    pulls: {
      2: { head_branch: 'changes', title: 'Update the README with new information' },
      3: { head_branch: 'broken-build', title: 'Add a step to the build' },
      7: { head_branch: 'new-header', title: 'New header' },
    },
  });
  const github = await startFakeGitHub({ repository: 'Codertocat/Hello-World' });
  const inputs = {
    'api-token': TOKEN,
    app: 'my-app',
    'api-url': fake.apiUrl,
    'auth-url': fake.authUrl,
    'poll-interval-seconds': '0.5',
    'timeout-minutes': '2',
    wait: 'true',
    command: 'auto',
    comment: 'true',
    'github-token': 'ghs_demo0123456789',
  };
  const env = { GITHUB_API_URL: github.url };
  /** The comment the step keeps on pull request `number`. */
  const commentOn = (/** @type {number} */ number) =>
    github.state.comments.find((c) => c.issue_number === number)?.body;
  try {
    console.log(
      bold(
        'Scalingo deploy: demo against the bundled fake Scalingo API and a fake GitHub API (nothing leaves this machine)',
      ),
    );
    console.log(`fake auth service ${fake.authUrl}, fake regional API ${fake.apiUrl}, fake GitHub API ${github.url}`);

    const pushRun = await runAction({
      event: 'push',
      ref: 'refs/heads/master',
      payload: payload('push', (p) => String(p.ref).startsWith('refs/heads/')),
      inputs,
      env,
    });
    show('GitHub Actions: push to master (production deploy)', pushRun);

    const opened = payload('pull_request', (p) => p.action === 'opened');
    const prRun = await runAction({ event: 'pull_request', ref: 'refs/pull/2/merge', payload: opened, inputs, env });
    show('GitHub Actions: pull request #2 opened (review app)', prRun, commentOn(2));

    const broken = withPullRequest(opened, 3, 'broken-build');
    const failedRun = await runAction({
      event: 'pull_request',
      ref: 'refs/pull/3/merge',
      payload: broken,
      inputs,
      env,
    });
    show(
      'GitHub Actions: pull request #3 opened, its build fails (the step fails, as it should)',
      failedRun,
      commentOn(3),
    );

    const gitlabRun = await runCli({
      args: ['--app', 'web-front', '--poll-interval-seconds', '0.5'],
      env: {
        SCALINGO_API_TOKEN: TOKEN,
        SCALINGO_API_URL: fake.apiUrl,
        SCALINGO_AUTH_URL: fake.authUrl,
        CI: 'true',
        GITLAB_CI: 'true',
        CI_PIPELINE_SOURCE: 'merge_request_event',
        CI_MERGE_REQUEST_IID: '7',
        CI_MERGE_REQUEST_SOURCE_BRANCH_NAME: 'new-header',
        CI_MERGE_REQUEST_TARGET_BRANCH_NAME: 'main',
        CI_SERVER_URL: 'https://gitlab.com',
        CI_PROJECT_URL: 'https://gitlab.com/acme/web-front',
      },
    });
    console.log(
      `\n${bold('━━ GitLab CI (the command line in a merge request pipeline of another app) ━━')}  (exit code ${gitlabRun.code})\n`,
    );
    // eslint-disable-next-line no-control-regex -- GitLab's section markers and colours
    const markers = /\x1b\[[0-9;]*[A-Za-z]|section_(start|end):\d+:\w+(\[collapsed=\w+\])?\r/g;
    console.log(indent(gitlabRun.stdout.replace(markers, '')));
    console.log(`\n  ${bold('dotenv report')}`);
    console.log(indent(gitlabRun.dotenv));

    if (process.env.DEMO_RESULTS)
      writeFileSync(
        process.env.DEMO_RESULTS,
        JSON.stringify({ summary: pushRun.summary, comment: commentOn(3) ?? '' }),
      );

    const requests = fake.requests.length;
    const writes = fake.mutating().map((r) => `${r.method} ${r.path} ${JSON.stringify(r.body)}`);
    console.log(
      `\n${bold('What the fake Scalingo API received')}: ${requests} requests, of which these changed something:`,
    );
    for (const w of writes) console.log(`    ${w}`);
    // Three runs deploy; the fourth must fail on its build error, with the end of the build output in its comment.
    const expected = [
      pushRun.code === 0,
      prRun.code === 0,
      failedRun.code === 1 && /build-error/.test(commentOn(3) ?? ''),
      gitlabRun.code === 0,
    ];
    if (expected.includes(false)) {
      console.error(
        `\nThe demo did not go as it should (push, review app, failed build, GitLab): ${expected.map((ok) => (ok ? 'as expected' : 'NOT as expected')).join(', ')}`,
      );
      process.exitCode = 1;
    } else {
      console.log('\nThree deploys succeeded, and the failed build failed its step, as it should. Next: `npm test`.');
    }
  } finally {
    await Promise.all([fake.close(), github.close()]);
  }
}

/**
 * A pull request payload for another pull request of the same repository.
 * @param {Record<string, unknown>} base
 * @param {number} number
 * @param {string} branch
 */
function withPullRequest(base, number, branch) {
  const copy = /** @type {Record<string, any>} */ (structuredClone(base));
  copy.number = number;
  copy.pull_request.number = number;
  copy.pull_request.html_url = String(copy.pull_request.html_url).replace(/\/\d+$/, `/${number}`);
  copy.pull_request.head.ref = branch;
  copy.pull_request.head.sha = BROKEN_HEAD;
  return copy;
}

await main();
