// @ts-check
/**
 * @file A stand-in for the GitHub CLI (`gh`) in the release workflow's dry run: the few `gh release` commands the
 * workflow uses, on releases kept in a JSON file (FAKE_GH_STATE), with GitHub's rules that matter to a re-run: one
 * release per tag, the tag must exist on the remote (FAKE_GH_ORIGIN) for --verify-tag, and no file can be added to a
 * published release (immutable releases). Any other command fails, so the workflow cannot use one untested.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';

/**
 * @typedef {object} Release
 * @property {boolean} draft
 * @property {boolean} prerelease
 * @property {string | undefined} latest `false` when asked not to be latest
 * @property {string} title
 * @property {string} notes
 * @property {Record<string, string>} assets name → sha256
 */

const stateFile = process.env.FAKE_GH_STATE ?? '';
/** @type {{ releases: Record<string, Release>, calls: string[][] }} */
const state = existsSync(stateFile) ? JSON.parse(readFileSync(stateFile, 'utf8')) : { releases: {}, calls: [] };
const args = process.argv.slice(2);
state.calls.push(args);

/** @param {string} message @param {number} [code] @returns {never} */
function fail(message, code = 1) {
  save();
  process.stderr.write(`${message}\n`);
  process.exit(code);
}
function save() {
  writeFileSync(stateFile, JSON.stringify(state, null, 2));
}
/** @param {string} name */
function flag(name) {
  const at = args.indexOf(name);
  return at < 0 ? undefined : args[at + 1];
}

if (!process.env.GH_TOKEN) fail('gh: set the GH_TOKEN environment variable', 4);
const [group, command, tag = ''] = args;
if (group !== 'release') fail(`fake gh: unsupported command: ${args.join(' ')}`, 2);
const release = state.releases[tag];

switch (command) {
  case 'view': {
    if (flag('--json') !== 'isDraft' || flag('--jq') !== '.isDraft')
      fail(`fake gh: unsupported view: ${args.join(' ')}`, 2);
    if (!release) fail('release not found');
    process.stdout.write(`${release.draft}\n`);
    break;
  }
  case 'create': {
    if (release) fail('HTTP 422: Validation Failed (tag_name already_exists)');
    if (args.includes('--verify-tag')) {
      const found = execFileSync('git', ['ls-remote', '--tags', process.env.FAKE_GH_ORIGIN ?? '', `refs/tags/${tag}`], {
        encoding: 'utf8',
      });
      if (!found.trim()) fail(`tag ${tag} doesn't exist in the repo, aborting due to --verify-tag flag`);
    }
    const notes = flag('--notes-file');
    state.releases[tag] = {
      draft: args.includes('--draft'),
      prerelease: args.includes('--prerelease'),
      latest: args.find((a) => a.startsWith('--latest'))?.replace(/^--latest=?/, '') || undefined,
      title: flag('--title') ?? '',
      notes: notes ? readFileSync(notes, 'utf8') : '',
      assets: {},
    };
    break;
  }
  case 'upload': {
    if (!release) fail('release not found');
    if (!release.draft) fail('HTTP 422: Cannot upload assets to an immutable release.');
    for (const file of args.slice(3).filter((a) => !a.startsWith('--'))) {
      const name = basename(file);
      if (release.assets[name] && !args.includes('--clobber'))
        fail(`asset under the same name already exists: [${name}]`);
      release.assets[name] = createHash('sha256').update(readFileSync(file)).digest('hex');
    }
    break;
  }
  case 'edit': {
    if (!release) fail('release not found');
    if (args[3] !== '--draft=false' || args.length !== 4) fail(`fake gh: unsupported edit: ${args.join(' ')}`, 2);
    release.draft = false;
    break;
  }
  default:
    fail(`fake gh: unsupported command: ${args.join(' ')}`, 2);
}
save();
