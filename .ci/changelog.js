#!/usr/bin/env node
// The release notes of one version, taken from CHANGELOG.md, and the check that they are whole.
//
//   node .ci/changelog.js VERSION [CHANGELOG]
//
// Prints the body of the `## [VERSION]` section (the GitHub release's notes) and exits 0, or prints why the notes of
// VERSION would be wrong and exits 1:
// - `## [Unreleased]` still has entries: they would ship in this version without being in its notes;
// - there is no `## [VERSION]` section, or more than one, or it has no entry;
// - for a release X.Y.Z, sections of its pre-releases (`## [X.Y.Z-rc.1]`) are still there: their entries belong in
//   the notes of X.Y.Z, so fold them into its section.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z.-]+)?$/;

/**
 * The `## [name]` sections of a changelog, in order, with their bodies (up to the next `## ` heading or the link
 * references at the end).
 * @param {string} text
 * @returns {{ name: string, body: string }[]}
 */
export function sections(text) {
  /** @type {{ name: string, body: string[] }[]} */
  const found = [];
  /** @type {{ name: string, body: string[] } | undefined} */
  let current;
  for (const line of text.replace(/\r\n/g, '\n').split('\n')) {
    const heading = /^## \[([^\]]+)\]/.exec(line);
    if (heading) {
      current = { name: heading[1] ?? '', body: [] };
      found.push(current);
    } else if (/^## /.test(line) || /^\[[^\]]+\]: \S/.test(line)) {
      current = undefined;
    } else if (current) {
      current.body.push(line);
    }
  }
  return found.map((s) => ({ name: s.name, body: s.body.join('\n').trim() }));
}

/**
 * Whether a section body lists at least one change (a list item), not only headings or blank lines.
 * @param {string} body
 */
function hasEntries(body) {
  return /^\s*[-*] \S/m.test(body);
}

/**
 * The notes of `version`, or the reasons they would be wrong.
 * @param {string} text the changelog
 * @param {string} version e.g. 1.2.3 or 1.3.0-rc.1
 * @returns {{ notes: string, problems: string[] }}
 */
export function releaseNotes(text, version) {
  /** @type {string[]} */
  const problems = [];
  if (!SEMVER.test(version))
    return { notes: '', problems: [`${version} is not a semantic version (X.Y.Z or X.Y.Z-pre.N)`] };
  const all = sections(text);

  const unreleased = all.filter((s) => s.name.toLowerCase() === 'unreleased');
  for (const s of unreleased) {
    if (s.body !== '') {
      problems.push(
        `## [Unreleased] still has entries: move them under ## [${version}], else the notes of ${version} leave them out although the release ships them`,
      );
    }
  }

  const own = all.filter((s) => s.name === version);
  if (own.length === 0) problems.push(`there is no section ## [${version}]`);
  if (own.length > 1) problems.push(`there are ${own.length} sections ## [${version}]: keep one`);
  const notes = own[0]?.body ?? '';
  if (own.length === 1 && !hasEntries(notes)) problems.push(`## [${version}] lists no change (no "- " entry)`);

  if (!version.includes('-')) {
    const pre = all.filter((s) => s.name.startsWith(`${version}-`)).map((s) => s.name);
    if (pre.length) {
      problems.push(
        `the sections of the pre-releases ${pre.join(', ')} are still there: fold their entries into ## [${version}], whose notes would leave them out`,
      );
    }
  }
  return { notes, problems };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [version, file = 'CHANGELOG.md'] = process.argv.slice(2);
  if (!version) {
    process.stderr.write('usage: node .ci/changelog.js VERSION [CHANGELOG]\n');
    process.exit(2);
  }
  const { notes, problems } = releaseNotes(readFileSync(file, 'utf8'), version);
  if (problems.length) {
    for (const problem of problems) process.stderr.write(`${file}: ${problem}\n`);
    process.exit(1);
  }
  process.stdout.write(`${notes}\n`);
}
