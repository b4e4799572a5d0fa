/**
 * The READMEs' recipes, read as a user copies them: every YAML block, keyed by the heading above it, and a small
 * GitHub Actions runner that applies to a workflow what GitHub would (its `on:` filters, job and step `if:`, the
 * matrix, `${{ }}` in `with:`, `env:` and `run:`, the action's defaults) and runs the built action for each of its
 * steps against the fake Scalingo (and the fake GitHub). `run:` steps are resolved, not executed. Anything of a
 * workflow this runner does not know fails the test instead of being skipped.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import yaml from 'js-yaml';
import { runAction } from '../support/runner.js';

export const ROOT = resolve(import.meta.dirname, '../..');

export interface YamlBlock {
  file: string;
  heading: string;
  /** 1 for the first block under its heading, 2 for the second... */
  index: number;
  text: string;
  key: string;
}

/** Every ```yaml block of a Markdown file, with the heading above it. */
export function yamlBlocks(file: string): YamlBlock[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const blocks: YamlBlock[] = [];
  let heading = '';
  const counts = new Map<string, number>();
  for (const m of text.matchAll(/^(#{2,4} [^\n]*)$|^```ya?ml\n([\s\S]*?)^```/gm)) {
    if (m[1]) {
      heading = m[1].replace(/^#+ /, '');
      continue;
    }
    const index = (counts.get(heading) ?? 0) + 1;
    counts.set(heading, index);
    blocks.push({ file, heading, index, text: m[2]!, key: `${heading} #${index}` });
  }
  return blocks;
}

// --- Expressions ----------------------------------------------------------------------------------------------------

type Value = string | number | boolean | null | undefined | Record<string, unknown> | unknown[];

export interface ExprContext {
  github: Record<string, unknown>;
  secrets: Record<string, string>;
  vars?: Record<string, string>;
  matrix?: Record<string, unknown>;
  steps?: Record<string, { outputs: Record<string, string>; outcome?: string }>;
  env?: Record<string, string>;
}

/** GitHub's truthiness: false, 0, '', null and undefined are false. */
const truthy = (v: Value) => !(v === false || v === 0 || v === '' || v === null || v === undefined);
const text = (v: Value): string =>
  v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
const loose = (v: Value): Value => (typeof v === 'string' ? v.toLowerCase() : v);

/** Evaluates one expression (the inside of `${{ }}`, or a bare `if:`); throws on what it does not support. */
export function evaluate(expression: string, ctx: ExprContext): Value {
  const tokens = [
    ...expression.matchAll(
      /\s*(?:('(?:[^']|'')*')|(\d+(?:\.\d+)?)|(==|!=|&&|\|\||!|\(|\)|,)|([A-Za-z_][\w-]*(?:\.[\w-]+|\[[^\]]+\])*))/gy,
    ),
  ];
  const consumed = tokens.map((t) => t[0]).join('');
  if (consumed.trim() !== expression.trim())
    throw new Error(`expression not supported by the recipe runner: ${expression}`);
  let i = 0;
  const peek = () => tokens[i]?.[0].trim();
  const next = () => tokens[i++]!;
  const primary = (): Value => {
    const t = next();
    if (!t) throw new Error(`unexpected end of expression: ${expression}`);
    if (t[1]) return t[1].slice(1, -1).replace(/''/g, "'");
    if (t[2]) return Number(t[2]);
    if (t[3] === '!') return !truthy(primary());
    if (t[3] === '(') {
      const v = or();
      if (next()?.[3] !== ')') throw new Error(`missing ) in ${expression}`);
      return v;
    }
    const name = t[4]!;
    if (peek() === '(') {
      next();
      const args: Value[] = [];
      while (peek() !== ')') {
        args.push(or());
        if (peek() === ',') next();
      }
      next();
      return call(name, args);
    }
    if (name === 'true') return true;
    if (name === 'false') return false;
    if (name === 'null') return null;
    return lookup(name, ctx);
  };
  const equality = (): Value => {
    let v = primary();
    while (peek() === '==' || peek() === '!=') {
      const op = next()[3];
      const w = primary();
      v = op === '==' ? loose(v) === loose(w) : loose(v) !== loose(w);
    }
    return v;
  };
  const and = (): Value => {
    let v = equality();
    while (peek() === '&&') {
      next();
      const w = equality();
      v = truthy(v) ? w : v;
    }
    return v;
  };
  const or = (): Value => {
    let v = and();
    while (peek() === '||') {
      next();
      const w = and();
      v = truthy(v) ? v : w;
    }
    return v;
  };
  const v = or();
  if (i !== tokens.length) throw new Error(`expression not supported by the recipe runner: ${expression}`);
  return v;
}

function call(name: string, args: Value[]): Value {
  switch (name) {
    case 'contains':
      return Array.isArray(args[0])
        ? args[0].map((x) => loose(x as Value)).includes(loose(args[1]))
        : text(args[0]).toLowerCase().includes(text(args[1]).toLowerCase());
    case 'startsWith':
      return text(args[0]).toLowerCase().startsWith(text(args[1]).toLowerCase());
    case 'success':
    case 'always':
      return true;
    case 'failure':
    case 'cancelled':
      return false;
    default:
      throw new Error(`function not supported by the recipe runner: ${name}()`);
  }
}

function lookup(path: string, ctx: ExprContext): Value {
  const parts = path.replace(/\[['"]?([^\]'"]+)['"]?\]/g, '.$1').split('.');
  const root = parts.shift()!;
  const scopes: Record<string, unknown> = {
    github: ctx.github,
    secrets: ctx.secrets,
    vars: ctx.vars ?? {},
    matrix: ctx.matrix ?? {},
    steps: ctx.steps ?? {},
    env: ctx.env ?? {},
  };
  if (!(root in scopes)) throw new Error(`context not supported by the recipe runner: ${root}`);
  let v: unknown = scopes[root];
  for (const p of parts) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[p] : undefined;
  if (root === 'secrets' && v === undefined)
    throw new Error(`the recipe uses secrets.${parts.join('.')}, which the test does not give`);
  return v as Value;
}

/** `${{ }}` substituted in a string; a whole-string expression keeps its type when it is not a string. */
export function substitute(value: unknown, ctx: ExprContext): string {
  const s = typeof value === 'string' ? value : text(value as Value);
  return s.replace(/\$\{\{([\s\S]*?)\}\}/g, (_, e: string) => text(evaluate(e, ctx)));
}

// --- Workflows ------------------------------------------------------------------------------------------------------

export interface Trigger {
  /** GitHub's event name. */
  event: string;
  payload: Record<string, unknown>;
  /** GITHUB_REF. */
  ref: string;
}

type Workflow = { on: unknown; jobs: Record<string, Job>; permissions?: Record<string, string>; concurrency?: unknown };
type Job = {
  if?: string;
  strategy?: { matrix?: Record<string, unknown> };
  steps: Step[];
  environment?: unknown;
  concurrency?: unknown;
  'runs-on'?: string;
  permissions?: unknown;
};
type Step = {
  id?: string;
  name?: string;
  uses?: string;
  with?: Record<string, unknown>;
  run?: string;
  env?: Record<string, unknown>;
  if?: string;
};

const DEFAULT_TYPES: Record<string, string[]> = {
  pull_request: ['opened', 'synchronize', 'reopened'],
  pull_request_target: ['opened', 'synchronize', 'reopened'],
};

/** Whether `on:` starts the workflow for this event (event names, `types`, `branches`). */
export function triggers(on: unknown, t: Trigger): boolean {
  const events: Record<string, unknown> =
    typeof on === 'string'
      ? { [on]: null }
      : Array.isArray(on)
        ? Object.fromEntries(on.map((e) => [e, null]))
        : (on as Record<string, unknown>);
  if (!(t.event in events)) return false;
  const filter = (events[t.event] ?? {}) as Record<string, unknown>;
  for (const key of Object.keys(filter))
    if (!['types', 'branches'].includes(key))
      throw new Error(`on.${t.event}.${key} not supported by the recipe runner`);
  const types = (filter.types as string[] | undefined) ?? DEFAULT_TYPES[t.event];
  if (types && !types.includes(String(t.payload.action))) return false;
  const branches = filter.branches as string[] | undefined;
  if (branches) {
    const branch = t.event.startsWith('pull_request')
      ? String((t.payload.pull_request as { base?: { ref?: string } } | undefined)?.base?.ref)
      : t.ref.replace(/^refs\/heads\//, '');
    if (!t.ref.startsWith('refs/heads/') && !t.event.startsWith('pull_request')) return false;
    if (
      !branches.some((b) =>
        b.includes('*') ? new RegExp(`^${b.replace(/\*\*?/g, '.*')}$`).test(branch) : b === branch,
      )
    )
      return false;
  }
  return true;
}

export interface StepRun {
  job: string;
  matrix?: Record<string, unknown>;
  /** The action's run, or the resolved `run:` script. */
  action?: Awaited<ReturnType<typeof runAction>> & { inputs: Record<string, string> };
  script?: { run: string; env: Record<string, string> };
}

export interface WorkflowRun {
  started: boolean;
  jobs: {
    name: string;
    matrix?: Record<string, unknown>;
    skipped: boolean;
    steps: StepRun[];
    environmentUrl?: string;
  }[];
}

export interface RunnerSetup {
  secrets: Record<string, string>;
  /** Inputs the test puts in place of what would reach the real Scalingo (the fake's URLs, a fast poll...). */
  inputs: Record<string, string>;
  env?: Record<string, string>;
  /** The token `${{ github.token }}` gives. */
  githubToken?: string;
}

const ACTION_DEFAULTS: Record<string, string> = (() => {
  const action = yaml.load(readFileSync(join(ROOT, 'action.yml'), 'utf8')) as {
    inputs: Record<string, { default?: unknown }>;
  };
  return Object.fromEntries(
    Object.entries(action.inputs)
      .filter(([, i]) => i.default !== undefined)
      .map(([n, i]) => [n, String(i.default)]),
  );
})();

/** Runs a README workflow for one event as GitHub would, the action's steps for real against the fakes. */
export async function runWorkflow(source: string, t: Trigger, setup: RunnerSetup): Promise<WorkflowRun> {
  const wf = yaml.load(source) as Workflow;
  if (!triggers(wf.on, t)) return { started: false, jobs: [] };
  const github = {
    event_name: t.event,
    event: t.payload,
    ref: t.ref,
    token: setup.githubToken ?? 'ghs_recipeToken0123456789',
    repository: 'Codertocat/Hello-World',
    sha: '6113728f27ae82c7b1a177c8d03f9e96e0adf246',
  };
  const run: WorkflowRun = { started: true, jobs: [] };
  for (const [name, job] of Object.entries(wf.jobs)) {
    for (const key of Object.keys(job))
      if (!['if', 'strategy', 'steps', 'environment', 'concurrency', 'runs-on', 'permissions'].includes(key))
        throw new Error(`jobs.${name}.${key} not supported by the recipe runner`);
    const matrices = expand(job.strategy?.matrix);
    for (const matrix of matrices) {
      const ctx: ExprContext = { github, secrets: setup.secrets, ...(matrix ? { matrix } : {}), steps: {} };
      // Concurrency groups must resolve (they are expressions GitHub evaluates before the job).
      for (const c of [wf.concurrency, job.concurrency])
        if (c && typeof c === 'object') for (const v of Object.values(c)) substitute(v, ctx);
      if (job.if !== undefined && !truthy(evaluate(stripBraces(job.if), ctx))) {
        run.jobs.push({ name, ...(matrix ? { matrix } : {}), skipped: true, steps: [] });
        continue;
      }
      const steps: StepRun[] = [];
      for (const step of job.steps) {
        if (step.if !== undefined && !truthy(evaluate(stripBraces(step.if), ctx))) continue;
        const env = Object.fromEntries(Object.entries(step.env ?? {}).map(([k, v]) => [k, substitute(v, ctx)]));
        if (step.uses?.startsWith('scalingo-deploy/scalingo-deploy@')) {
          const given = Object.fromEntries(Object.entries(step.with ?? {}).map(([k, v]) => [k, substitute(v, ctx)]));
          const defaults = Object.fromEntries(Object.entries(ACTION_DEFAULTS).map(([k, v]) => [k, substitute(v, ctx)]));
          const inputs = { ...defaults, ...given, ...setup.inputs };
          const result = await runAction({
            event: t.event,
            ref: t.ref,
            payload: t.payload,
            inputs,
            env: { ...setup.env, ...env },
          });
          steps.push({ job: name, ...(matrix ? { matrix } : {}), action: { ...result, inputs } });
          if (step.id)
            ctx.steps![step.id] = { outputs: result.outputs, outcome: result.code === 0 ? 'success' : 'failure' };
          if (result.code !== 0) break;
        } else if (step.run !== undefined) {
          steps.push({ job: name, ...(matrix ? { matrix } : {}), script: { run: substitute(step.run, ctx), env } });
        } else {
          throw new Error(`step not supported by the recipe runner: ${JSON.stringify(step)}`);
        }
      }
      const environment = job.environment as { url?: string } | undefined;
      run.jobs.push({
        name,
        ...(matrix ? { matrix } : {}),
        skipped: false,
        steps,
        ...(environment?.url ? { environmentUrl: substitute(environment.url, ctx) } : {}),
      });
    }
  }
  return run;
}

const stripBraces = (s: string) => s.trim().replace(/^\$\{\{([\s\S]*)\}\}$/, '$1');

function expand(matrix: Record<string, unknown> | undefined): (Record<string, unknown> | undefined)[] {
  if (!matrix) return [undefined];
  let combos: Record<string, unknown>[] = [{}];
  for (const [key, values] of Object.entries(matrix)) {
    if (!Array.isArray(values)) throw new Error(`matrix.${key} not supported by the recipe runner`);
    combos = combos.flatMap((c) => values.map((v) => ({ ...c, [key]: v })));
  }
  return combos;
}
