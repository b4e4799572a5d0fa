#!/usr/bin/env node
// The licence notices of the third-party packages bundled into dist/, written by `npm run build`.
//
//   node .ci/third-party-notices.js STATS OUT
//
// STATS is the webpack stats file of the ncc build (`ncc build --stats-out`): every module the bundle holds, with its
// path, so the list is what dist/ contains, not what package.json declares. license-checker-rseidelsohn reads each
// of these packages (its licence, licence file and NOTICE file); OUT gets them sorted by name and version, with the
// full licence texts, and nothing that depends on the machine (no path, no date), so that a rebuild is byte-identical.
// The build fails when a bundled package has no licence text of its own.
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { init } from 'license-checker-rseidelsohn';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * @typedef {object} BundledPackage
 * @property {string} name
 * @property {string} version
 * @property {string} dir the package's directory, relative to the repository root
 */

/**
 * The packages whose modules a webpack stats file lists (modules concatenated into others included).
 * @param {unknown} stats the parsed stats file
 * @param {string} [root] the directory the build ran in
 * @returns {BundledPackage[]} sorted by name, then version
 */
export function bundledPackages(stats, root = ROOT) {
  /** @type {Set<string>} */
  const dirs = new Set();
  /** @param {unknown} modules */
  const walk = (modules) => {
    if (!Array.isArray(modules)) return;
    for (const module of modules) {
      const path = typeof module?.nameForCondition === 'string' ? module.nameForCondition : '';
      const dir = packageDir(path);
      if (dir) dirs.add(dir);
      walk(module?.modules);
    }
  };
  walk(/** @type {{ modules?: unknown }} */ (stats)?.modules);
  return [...dirs]
    .map((dir) => {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      return { name: String(pkg.name), version: String(pkg.version), dir: relative(root, dir).split(sep).join('/') };
    })
    .sort(byNameAndVersion);
}

/**
 * The directory of the innermost package a file of node_modules belongs to, or '' for a file of the project.
 * @param {string} file
 */
export function packageDir(file) {
  const parts = file.split(/[\\/]/);
  const at = parts.lastIndexOf('node_modules');
  if (at < 0 || at + 1 >= parts.length) return '';
  const length = parts[at + 1]?.startsWith('@') ? 3 : 2;
  if (at + length >= parts.length) return '';
  return parts.slice(0, at + length).join('/');
}

/**
 * @param {{ name: string, version: string }} a
 * @param {{ name: string, version: string }} b
 */
function byNameAndVersion(a, b) {
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  const [x, y] = [a.version, b.version].map((v) => v.split(/[.+-]/).map((p) => (/^\d+$/.test(p) ? Number(p) : p)));
  for (let i = 0; i < Math.max(x?.length ?? 0, y?.length ?? 0); i++) {
    const [p, q] = [x?.[i], y?.[i]];
    if (p === q) continue;
    if (p === undefined) return -1;
    if (q === undefined) return 1;
    return p < q ? -1 : 1;
  }
  return 0;
}

/**
 * @typedef {object} CheckedPackage
 * @property {string | string[]} [licenses]
 * @property {string} [licenseFile]
 * @property {string} [noticeFile]
 * @property {string} [repository]
 */

/**
 * What license-checker-rseidelsohn finds for these packages of the tree under `root`.
 * @param {BundledPackage[]} packages
 * @param {string} [root]
 * @returns {Promise<Record<string, CheckedPackage>>} by `name@version`
 */
function check(packages, root = ROOT) {
  return new Promise((resolvePromise, reject) => {
    // The package's types call this option `packages`; its code (and its --includePackages flag) reads includePackages.
    const options = /** @type {import('license-checker-rseidelsohn').InitOpts} */ ({
      start: root,
      includePackages: packages.map((p) => `${p.name}@${p.version}`).join(';'),
    });
    init(options, (error, found) => {
      if (error) reject(error);
      else resolvePromise(/** @type {Record<string, CheckedPackage>} */ (found));
    });
  });
}

/** @param {string} text */
const normalise = (text) =>
  text
    .replace(/\r\n?/g, '\n')
    .replace(/[ \t]+$/gm, '')
    .trim();

/**
 * The notices file for these packages.
 * @param {BundledPackage[]} packages
 * @param {string} [root]
 */
export async function renderNotices(packages, root = ROOT) {
  const found = await check(packages, root);
  /** @type {string[]} */
  const problems = [];
  const rule = '-'.repeat(80);
  const entries = packages.map((p) => {
    const id = `${p.name}@${p.version}`;
    const info = found[id];
    const licenses = [info?.licenses ?? 'UNKNOWN'].flat().join(' AND ');
    const file = info?.licenseFile;
    if (!info || !file || /^readme/i.test(basename(file)) || /UNKNOWN|UNLICENSED/.test(licenses)) {
      problems.push(`${id} (${p.dir}): no licence file of its own was found (licence: ${licenses})`);
      return '';
    }
    const lines = [rule, `${p.name} ${p.version}`, `License: ${licenses}`];
    if (info.repository) lines.push(`Repository: ${info.repository}`);
    lines.push('', normalise(readFileSync(file, 'utf8')));
    if (info.noticeFile)
      lines.push('', `NOTICE (${basename(info.noticeFile)}):`, '', normalise(readFileSync(info.noticeFile, 'utf8')));
    return lines.join('\n');
  });
  if (problems.length) throw new Error(`third-party notices: ${problems.join('; ')}`);
  const licences = [
    ...new Set(packages.map((p) => [found[`${p.name}@${p.version}`]?.licenses ?? ''].flat().join(' AND '))),
  ].sort();
  const header = [
    'THIRD-PARTY SOFTWARE NOTICES',
    '',
    `dist/ of scalingo-deploy bundles the ${packages.length} packages below (licences: ${licences.join(', ')}).`,
    'Each is listed with its licence text, as its authors ship it. scalingo-deploy itself is under the MIT licence',
    '(LICENSE). This file is generated by npm run build (.ci/third-party-notices.js): do not edit it.',
  ];
  return `${[header.join('\n'), ...entries].join('\n\n')}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [statsFile, out] = process.argv.slice(2);
  if (!statsFile || !out) {
    process.stderr.write('usage: node .ci/third-party-notices.js STATS OUT\n');
    process.exit(2);
  }
  try {
    const packages = bundledPackages(JSON.parse(readFileSync(statsFile, 'utf8')));
    writeFileSync(out, await renderNotices(packages));
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}
