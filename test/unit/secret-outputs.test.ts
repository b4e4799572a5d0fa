/** `app` from a secret: the workflow scan, the outputs GitHub drops, and the one warning. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  appSecretIn,
  checkSecretOutputs,
  outputsNaming,
  secretOutputsWarning,
  workflowFile,
} from '../../src/platform/github/secret-outputs.js';

const step = (withLines: string, env = '') => `name: Deploy
on: push
${env}jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: scalingo-deploy/scalingo-deploy@v1
        with:
${withLines}
`;

describe('appSecretIn', () => {
  it('finds `app:` taking a secret, in every way it is written', () => {
    expect(appSecretIn(step('          app: ${{ secrets.SCALINGO_APP }}'), true)).toBe('SCALINGO_APP');
    expect(appSecretIn(step("          app: '${{secrets.APP_NAME}}'"), true)).toBe('APP_NAME');
    expect(appSecretIn(step('          "app": "${{ vars.FALLBACK || secrets.APP }}"'), true)).toBe('APP');
    expect(appSecretIn('steps:\n  - app: ${{ secrets.X }}\n', true)).toBe('X');
  });

  it('finds SCALINGO_APP taking a secret only when the step gives no `app` input', () => {
    const wf = step(
      '          api-token: ${{ secrets.SCALINGO_API_TOKEN }}',
      'env:\n  SCALINGO_APP: ${{ secrets.PROD_APP }}\n',
    );
    expect(appSecretIn(wf, false)).toBe('PROD_APP');
    expect(appSecretIn(wf, true)).toBeUndefined();
  });

  it('ignores plain values, variables, other inputs and comments', () => {
    expect(
      appSecretIn(step('          app: my-app\n          api-token: ${{ secrets.SCALINGO_API_TOKEN }}'), true),
    ).toBeUndefined();
    expect(appSecretIn(step('          app: ${{ vars.SCALINGO_APP }}'), true)).toBeUndefined();
    expect(
      appSecretIn(step('          # app: ${{ secrets.SCALINGO_APP }}\n          app: my-app'), true),
    ).toBeUndefined();
    expect(appSecretIn(step('          app: my-app # not ${{ secrets.SCALINGO_APP }}'), true)).toBeUndefined();
    expect(
      appSecretIn(step('          review-app: ${{ secrets.X }}\n          my-app: ${{ secrets.Y }}'), true),
    ).toBeUndefined();
    expect(appSecretIn('', true)).toBeUndefined();
  });
});

describe('workflowFile', () => {
  it('is the path of GITHUB_WORKFLOW_REF inside the repository', () => {
    expect(
      workflowFile('Codertocat/Hello-World/.github/workflows/deploy.yml@refs/heads/main', 'Codertocat/Hello-World'),
    ).toBe('.github/workflows/deploy.yml');
    expect(
      workflowFile('codertocat/hello-world/.github/workflows/ci.yaml@refs/pull/2/merge', 'Codertocat/Hello-World'),
    ).toBe('.github/workflows/ci.yaml');
  });

  it('is undefined for another repository, a path outside .github/workflows, or nothing', () => {
    expect(workflowFile('octo-org/shared/.github/workflows/deploy.yml@v1', 'Codertocat/Hello-World')).toBeUndefined();
    expect(workflowFile('Codertocat/Hello-World/../etc/passwd@x', 'Codertocat/Hello-World')).toBeUndefined();
    expect(
      workflowFile('Codertocat/Hello-World/.github/workflows/../../x.yml@x', 'Codertocat/Hello-World'),
    ).toBeUndefined();
    expect(workflowFile(undefined, 'Codertocat/Hello-World')).toBeUndefined();
    expect(workflowFile('Codertocat/Hello-World/.github/workflows/deploy.yml@main', undefined)).toBeUndefined();
  });
});

describe('outputsNaming and the warning', () => {
  const outputs = {
    app: 'my-app-pr2',
    'app-url': 'https://my-app-pr2.osc-fr1.scalingo.io',
    'deployment-id': 'd-1',
    'deployment-status': 'success',
    'review-app': 'my-app-pr2',
    link: 'unchanged',
    'timed-out': 'false',
    'dashboard-url': 'https://dashboard.scalingo.com/apps/osc-fr1/my-app-pr2',
    'git-ref': 'abc',
    apps: '[{"app":"my-app"}]',
  };

  it('names the outputs that contain an app', () => {
    expect(outputsNaming(outputs, ['my-app'])).toEqual(['app', 'app-url', 'review-app', 'dashboard-url', 'apps']);
    expect(outputsNaming(outputs, ['other'])).toEqual([]);
    expect(outputsNaming(outputs, [''])).toEqual([]);
  });

  it('says which outputs are dropped and what to do; nothing when none is', () => {
    const text = secretOutputsWarning('SCALINGO_APP', '.github/workflows/deploy.yml', ['app', 'app-url']);
    expect(text).toBe(
      "`app` comes from a secret (`secrets.SCALINGO_APP` in .github/workflows/deploy.yml): GitHub drops a job output that contains a secret's value, " +
        'so the outputs `app`, `app-url` of this step reach later jobs empty. An app name is not a secret: give `app` a plain value or a variable (`${{ vars.SCALINGO_APP }}`).',
    );
    expect(secretOutputsWarning('X', 'f.yml', [])).toBeUndefined();
  });
});

describe('checkSecretOutputs', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  const workspace = (workflow?: string): string => {
    dir = mkdtempSync(join(tmpdir(), 'secret-outputs-'));
    if (workflow !== undefined) {
      mkdirSync(join(dir, '.github/workflows'), { recursive: true });
      writeFileSync(join(dir, '.github/workflows/deploy.yml'), workflow);
    }
    return dir;
  };
  const env = (ws: string) => ({
    GITHUB_WORKSPACE: ws,
    GITHUB_REPOSITORY: 'Codertocat/Hello-World',
    GITHUB_WORKFLOW_REF: 'Codertocat/Hello-World/.github/workflows/deploy.yml@refs/heads/main',
    INPUT_APP: 'my-app',
  });
  const outputs = { app: 'my-app', link: 'unchanged' };

  it('warns when the checked-out workflow gives `app` a secret', () => {
    const ws = workspace(step('          app: ${{ secrets.SCALINGO_APP }}'));
    expect(checkSecretOutputs(env(ws), outputs, ['my-app'])).toContain(
      'the outputs `app` of this step reach later jobs empty',
    );
  });

  it('says nothing without the file, the workspace or the ref, or when no output names the app', () => {
    expect(checkSecretOutputs(env(workspace()), outputs, ['my-app'])).toBeUndefined();
    const ws = workspace(step('          app: ${{ secrets.SCALINGO_APP }}'));
    expect(checkSecretOutputs({ ...env(ws), GITHUB_WORKSPACE: undefined }, outputs, ['my-app'])).toBeUndefined();
    expect(checkSecretOutputs({ ...env(ws), GITHUB_WORKFLOW_REF: undefined }, outputs, ['my-app'])).toBeUndefined();
    expect(checkSecretOutputs(env(ws), { link: 'unchanged' }, ['my-app'])).toBeUndefined();
  });
});
