/**
 * Outputs that GitHub drops: a job output that contains a secret's value is not passed on to later jobs, without a
 * word (the runner logs "Skip output ... since it may contain secret" in debug only). When `app` comes from a secret,
 * every output that names the app is dropped: `app`, `app-url`, `review-app`, `dashboard-url`, `apps`.
 *
 * The action cannot see which values are secrets. It reads the running workflow file instead, when the repository is
 * checked out, and looks for `app:` (or `SCALINGO_APP:`) taking `${{ secrets.… }}`: a textual scan, enough for the
 * way workflows are written. A file it cannot find or read says nothing.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** A line that gives `app` (the step's input) or `SCALINGO_APP` (env at any level) a value read from `secrets.`. */
const APP_FROM_SECRET =
  /^[ \t]*(?:-[ \t]+)?["']?(app|SCALINGO_APP)["']?[ \t]*:[^#\n]*\$\{\{[^}]*\bsecrets\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)/gm;

/**
 * The secret that gives the app in a workflow's text (`secrets.NAME` → `NAME`), or undefined. `SCALINGO_APP` only
 * counts when the step gives no `app` input: the input wins over the variable. Commented-out lines do not count.
 */
export function appSecretIn(workflow: string, appInputGiven: boolean): string | undefined {
  for (const [, key, secret] of workflow.matchAll(APP_FROM_SECRET)) {
    if (key === 'app' || !appInputGiven) return secret;
  }
  return undefined;
}

/**
 * The workflow file of `GITHUB_WORKFLOW_REF` (`owner/repo/.github/workflows/file.yml@ref`), relative to the
 * repository; undefined when it is not a file of `repository` (a reusable workflow of another repository, say).
 */
export function workflowFile(workflowRef: string | undefined, repository: string | undefined): string | undefined {
  if (!workflowRef || !repository) return undefined;
  const at = workflowRef.lastIndexOf('@');
  const path = at === -1 ? workflowRef : workflowRef.slice(0, at);
  const prefix = `${repository}/`;
  if (path.slice(0, prefix.length).toLowerCase() !== prefix.toLowerCase()) return undefined;
  const file = path.slice(prefix.length);
  return /^\.github\/workflows\/[^/]+\.ya?ml$/.test(file) ? file : undefined;
}

/** The outputs whose value contains one of the apps, in their order: what GitHub drops when the apps are secret. */
export function outputsNaming(outputs: Record<string, string>, apps: readonly string[]): string[] {
  const names = apps.filter((a) => a !== '');
  return Object.entries(outputs)
    .filter(([, value]) => names.some((a) => value.includes(a)))
    .map(([name]) => name);
}

/** The one warning, or undefined when there is nothing to say. */
export function secretOutputsWarning(secret: string, file: string, dropped: readonly string[]): string | undefined {
  if (dropped.length === 0) return undefined;
  const list = dropped.map((o) => `\`${o}\``).join(', ');
  return (
    `\`app\` comes from a secret (\`secrets.${secret}\` in ${file}): GitHub drops a job output that contains a secret's value, ` +
    `so the outputs ${list} of this step reach later jobs empty. An app name is not a secret: give \`app\` a plain value or a variable (\`\${{ vars.SCALINGO_APP }}\`).`
  );
}

/**
 * Reads the running workflow (under `GITHUB_WORKSPACE`) and returns the warning to give, if any. Never throws: a file
 * that cannot be read means nothing is said.
 */
export function checkSecretOutputs(
  env: NodeJS.ProcessEnv,
  outputs: Record<string, string>,
  apps: readonly string[],
): string | undefined {
  const file = workflowFile(env.GITHUB_WORKFLOW_REF, env.GITHUB_REPOSITORY);
  const workspace = env.GITHUB_WORKSPACE;
  if (!file || !workspace) return undefined;
  const dropped = outputsNaming(outputs, apps);
  if (dropped.length === 0) return undefined;
  let text: string;
  try {
    text = readFileSync(join(workspace, file), 'utf8');
  } catch {
    return undefined;
  }
  const secret = appSecretIn(text, (env.INPUT_APP ?? '').trim() !== '');
  return secret ? secretOutputsWarning(secret, file, dropped) : undefined;
}
