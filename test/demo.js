// @ts-check
/**
 * @file `npm run demo`: starts the bundled fake Scalingo API and runs the built action against it, as GitHub's
 * runner would, for a push to the main branch and for a pull request; then the command line as a GitLab merge
 * request job would. Prints what a user sees: the step's log, its outputs and its job summary.
 */
import { createRequire } from 'node:module';
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
    else if (annotation) shown.push(`    ${annotation[1] === 'error' ? '❌ Error' : '⚠️ Warning'}${annotation[2] ? ` (${annotation[2]})` : ''}: ${annotation[3]}`);
    else if (line) shown.push(`    ${line}`);
  }
  return shown.join('\n');
}

/**
 * @param {string} title
 * @param {import('./support/runner.js').RunResult} result
 */
function show(title, result) {
  console.log(`\n${bold(`━━ ${title} ━━`)}  (exit code ${result.code})\n`);
  console.log(renderGitHubLog(result.stdout));
  console.log(`\n  ${bold('Job summary')}`);
  console.log(result.summary.trim().split('\n').map((l) => `    ${l}`).join('\n'));
}

async function main() {
  const fake = await startFakeScalingo({
    apps: { 'my-app': {}, 'web-front': {} },
    links: {
      'my-app': { source: 'https://github.com/Codertocat/Hello-World', branch: 'master', auto_deploy_enabled: false, delete_on_close_enabled: true },
      'web-front': { source: 'https://gitlab.com/acme/web-front', branch: 'main', auto_deploy_enabled: false },
    },
    deployScript: { durationMs: 2500, final: 'success' },
    pulls: { 2: { head_branch: 'changes', title: 'Update the README with new information' }, 7: { head_branch: 'new-header', title: 'New header' } },
  });
  const inputs = {
    'api-token': TOKEN, app: 'my-app', 'api-url': fake.apiUrl, 'auth-url': fake.authUrl,
    'poll-interval-seconds': '0.5', 'timeout-minutes': '2', wait: 'true', command: 'auto', comment: 'false',
  };
  try {
    console.log(bold('Scalingo deploy: demo against the bundled fake Scalingo API (nothing leaves this machine)'));
    console.log(`fake auth service ${fake.authUrl}, fake regional API ${fake.apiUrl}`);

    const pushRun = await runAction({ event: 'push', ref: 'refs/heads/master', payload: payload('push', (p) => String(p.ref).startsWith('refs/heads/')), inputs });
    show('GitHub Actions: push to master (production deploy)', pushRun);

    const prRun = await runAction({ event: 'pull_request', ref: 'refs/pull/2/merge', payload: payload('pull_request', (p) => p.action === 'opened'), inputs });
    show('GitHub Actions: pull request #2 opened (review app)', prRun);

    const gitlabRun = await runCli({
      args: ['--app', 'web-front', '--poll-interval-seconds', '0.5'],
      env: {
        SCALINGO_API_TOKEN: TOKEN, SCALINGO_API_URL: fake.apiUrl, SCALINGO_AUTH_URL: fake.authUrl,
        CI: 'true', GITLAB_CI: 'true', CI_PIPELINE_SOURCE: 'merge_request_event', CI_MERGE_REQUEST_IID: '7',
        CI_MERGE_REQUEST_SOURCE_BRANCH_NAME: 'new-header', CI_MERGE_REQUEST_TARGET_BRANCH_NAME: 'main',
        CI_SERVER_URL: 'https://gitlab.com', CI_PROJECT_URL: 'https://gitlab.com/acme/web-front',
      },
    });
    console.log(`\n${bold('━━ GitLab CI (the command line in a merge request pipeline of another app) ━━')}  (exit code ${gitlabRun.code})\n`);
    // eslint-disable-next-line no-control-regex -- GitLab's section markers and colours
    console.log(gitlabRun.stdout.replace(/\x1b\[[0-9;]*[A-Za-z]|section_(start|end):\d+:\w+(\[collapsed=\w+\])?\r/g, '').trim().split('\n').map((l) => `    ${l}`).join('\n'));
    console.log(`\n  ${bold('dotenv report')}`);
    console.log(gitlabRun.dotenv.trim().split('\n').map((l) => `    ${l}`).join('\n'));

    const requests = fake.requests.length;
    const writes = fake.mutating().map((r) => `${r.method} ${r.path} ${JSON.stringify(r.body)}`);
    console.log(`\n${bold('What the fake Scalingo API received')}: ${requests} requests, of which these changed something:`);
    for (const w of writes) console.log(`    ${w}`);
    const failed = [pushRun, prRun, gitlabRun].filter((r) => r.code !== 0).length;
    if (failed) {
      console.error(`\n${failed} run(s) failed`);
      process.exitCode = 1;
    } else {
      console.log(`\nAll three runs succeeded. Next: \`npm test\`.`);
    }
  } finally {
    await fake.close();
  }
}

await main();
