/**
 * One rule for "the same repository": what two URLs of one repository share, and whether a link points to a given
 * repository. Used by the link phase (never re-link an app), and by discovery (this repository's links). Pure.
 */
import type { ScmRepoLink } from '../scalingo/types.js';

/**
 * `host/owner/repo` in lower case, without scheme, `.git` nor trailing slashes (`https://GitHub.com/A/B.git/` and
 * `http://github.com/a/b` are one repository); `owner/repo` for a URL without host.
 */
export function repositoryKey(url: string): string {
  return url
    .trim()
    .replace(/^[a-z][a-z0-9+.-]*:\/\//i, '')
    .replace(/\/+$/, '')
    .replace(/\.git$/i, '')
    .replace(/\/+$/, '')
    .toLowerCase();
}

/**
 * The repository a link points to, as `https://host/owner/repo`, when the link says; as `owner/repo` when the
 * link does not give its SCM's URL.
 */
export function linkSource(link: Pick<ScmRepoLink, 'url' | 'owner' | 'repo'> | null): string | undefined {
  if (!link?.owner || !link.repo) return undefined;
  const root = (link.url ?? '').replace(/\/+$/, '');
  return root ? `${root}/${link.owner}/${link.repo}` : `${link.owner}/${link.repo}`;
}

/**
 * Whether two repository URLs name one repository (see `repositoryKey`). A scheme-less `owner/repo` (a link without
 * its SCM's URL) matches that path on any host.
 */
export function sameRepository(a: string, b: string): boolean {
  const hasHost = (s: string): boolean => /^[a-z][a-z0-9+.-]*:\/\//i.test(s.trim());
  const [x, y] = [repositoryKey(a), repositoryKey(b)];
  if (hasHost(a) === hasHost(b)) return x === y;
  const path = (key: string): string => key.replace(/^[^/]+\//, '');
  return hasHost(a) ? path(x) === y : x === path(y);
}

/**
 * Whether a link is a link to `source` (`https://host/owner/repo`): the same repository, on the same host. A link
 * that does not give its SCM's URL cannot be said to be on the same host: it is not kept.
 */
export function linksTo(link: ScmRepoLink, source: string): boolean {
  if (!link.url || !link.owner || !link.repo) return false;
  const linked = linkSource(link);
  return linked !== undefined && sameRepository(linked, source);
}
