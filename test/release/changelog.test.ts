/**
 * The release notes of a version come from its CHANGELOG section, and the release stops when they would leave
 * shipped changes out: entries left under Unreleased, no section or an empty one, pre-release sections not folded
 * into the release.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { releaseNotes } from '../../.ci/changelog.js';
import { ROOT } from '../support/runner.js';

const SCRIPT = join(ROOT, '.ci/changelog.js');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };

const changelog = (...parts: string[]) =>
  [
    '# Changelog',
    '',
    'Intro text.',
    '',
    ...parts,
    '',
    '[Unreleased]: https://example.com/compare',
    '[1.1.0]: https://example.com/v1.1.0',
    '',
  ].join('\n');
const V110 = '## [1.1.0] - 2027-01-10\n\n### Added\n\n- A new input.\n\n### Fixed\n\n- A crash.';

describe('.ci/changelog.js', () => {
  const dir = mkdtempSync(join(tmpdir(), 'scalingo-changelog-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function run(text: string, version: string) {
    const file = join(dir, 'CHANGELOG.md');
    writeFileSync(file, text);
    const result = spawnSync(process.execPath, [SCRIPT, version, file], { encoding: 'utf8' });
    return { code: result.status, out: result.stdout, err: result.stderr };
  }

  it('prints the section of the version, without its heading nor the link references', () => {
    const result = run(changelog('## [Unreleased]', '', V110, '', '## [1.0.0]', '', '- First.'), '1.1.0');
    expect(result.err).toBe('');
    expect(result.code).toBe(0);
    expect(result.out).toBe('### Added\n\n- A new input.\n\n### Fixed\n\n- A crash.\n');
  });

  it('fails when Unreleased still has entries at tag time, naming the version whose notes would miss them', () => {
    const result = run(
      changelog('## [Unreleased]', '', '### Added', '', '- Shipped but not in the notes.', '', V110),
      '1.1.0',
    );
    expect(result.code).toBe(1);
    expect(result.out).toBe('');
    expect(result.err).toContain('## [Unreleased] still has entries: move them under ## [1.1.0]');
  });

  it('fails when the version has no section, or an empty one', () => {
    const missing = run(changelog('## [Unreleased]', '', V110), '1.2.0');
    expect(missing.code).toBe(1);
    expect(missing.err).toContain('there is no section ## [1.2.0]');

    const empty = run(changelog('## [Unreleased]', '', '## [1.2.0] - 2027-02-01', '', '### Added', '', V110), '1.2.0');
    expect(empty.code).toBe(1);
    expect(empty.err).toContain('## [1.2.0] lists no change');
  });

  it('fails on a version given twice and on what is not a version', () => {
    expect(releaseNotes(changelog(V110, '', V110), '1.1.0').problems).toEqual([
      'there are 2 sections ## [1.1.0]: keep one',
    ]);
    expect(releaseNotes(changelog(V110), 'v1.1.0').problems[0]).toContain('not a semantic version');
    expect(run(changelog(V110), '').code).toBe(2);
  });

  it('takes a pre-release from its own section, and makes a release fold its pre-releases in', () => {
    const rc = '## [1.1.0-rc.1] - 2027-01-02\n\n### Added\n\n- Tried in the release candidate.';
    expect(releaseNotes(changelog('## [Unreleased]', '', rc), '1.1.0-rc.1')).toEqual({
      notes: '### Added\n\n- Tried in the release candidate.',
      problems: [],
    });

    const { problems } = releaseNotes(changelog('## [Unreleased]', '', V110, '', rc), '1.1.0');
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('pre-releases 1.1.0-rc.1 are still there: fold their entries into ## [1.1.0]');
  });

  it("passes for package.json's version on this repository's CHANGELOG.md", () => {
    const { notes, problems } = releaseNotes(readFileSync(join(ROOT, 'CHANGELOG.md'), 'utf8'), pkg.version);
    // Between releases, Unreleased gathers the next version's entries: only the tagged commit must have it empty.
    expect(problems.filter((p) => !p.startsWith('## [Unreleased]'))).toEqual([]);
    expect(notes).toMatch(/^- /m);
  });
});
