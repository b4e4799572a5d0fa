// @ts-check
/**
 * @file What the live suite records and prints goes through here first: the API token, the bearer and every other
 * token, e-mail addresses, hostnames and IP addresses, ids (UUIDs, 24-hex object ids, commit SHAs, numeric ids) and
 * the names of the account (apps, owners, repositories, users, the other apps' too) are replaced by placeholders. The same value always gets
 * the same placeholder in one run (`<host-2>` is the same host everywhere), so that answers can still be compared:
 * the deployments stream's host is `<stream-host>`, the regional API's `<api-host>`. Types are kept: a string stays a
 * string, a number a number, so that the recorded answers have the shapes Scalingo sent.
 */

const JWT = /\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*/g;
const API_TOKEN = /\btk-[a-z]{2}-[A-Za-z0-9_-]+/g;
const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+/g;
const URL_HOST = /\b([a-z][a-z0-9+.-]*:\/\/)([^/\s"'<>?#\\(),;]+)/gi;
const IPV4 = /\b(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?\b/g;
const TLDS =
  'com|io|net|org|fr|dev|app|eu|co|cloud|sh|info|me|xyz|tech|local|localhost|invalid|test|example|internal|ovh|de|uk|us';
const HOSTNAME = new RegExp(`\\b(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\\.)+(?:${TLDS})\\b(?::\\d+)?`, 'gi');
const UUID = /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi;
const SHA = /\b[0-9a-f]{40}\b/g;
const OBJECT_ID = /\b[0-9a-f]{24}\b/g;
/** Keys whose values are credentials, whatever they look like. */
const SECRET_KEY = /token|secret|password|credential|private|api_key/i;
/** Keys whose values name a person or an account. */
const PERSON_KEY = /^(username|fullname|uid|company|location|login)$/i;
/** Keys whose values name an app, a repository or its owner: other apps of the account too. */
const NAME_KEY = /^(name|owner|repo|app_name|parent_app_name|source_repo_name)$/i;
/** Keys whose numeric values are ids. */
const NUMERIC_ID_KEY = /(^|_)id$|^uid$/i;

export class Redactor {
  /** @type {Map<string, string>} exact secret value → placeholder */
  #secrets = new Map();
  /** @type {Map<string, string>} exact literal (account names) → placeholder */
  #literals = new Map();
  /** @type {Map<string, Map<string, string>>} kind → value → placeholder */
  #seen = new Map();
  /** @type {Map<number, number>} */
  #numbers = new Map();
  /** @type {Map<string, number>} kind → numbered placeholders given */
  #counts = new Map();

  /**
   * A credential: it and its Basic encoding become `<label>`.
   * @param {string | undefined} value
   * @param {string} label
   */
  secret(value, label) {
    if (!value) return;
    this.#secrets.set(value, `<${label}>`);
    this.#secrets.set(Buffer.from(`:${value}`).toString('base64'), `<${label}-basic>`);
  }

  /**
   * A name of the account (app, owner, repository…): replaced wherever it appears, after hosts are.
   * @param {string | undefined} value
   * @param {string} label
   */
  literal(value, label) {
    if (!value || value.length < 3 || this.#literals.has(value)) return;
    this.#literals.set(value, `<${label}>`);
  }

  /**
   * A host with a known role: it becomes `<label>` rather than a numbered placeholder.
   * @param {string | undefined} url A URL or a bare host.
   * @param {string} label
   */
  host(url, label) {
    if (!url) return;
    let host;
    try {
      host = new URL(url.includes('://') ? url : `https://${url}`).host;
    } catch {
      return;
    }
    this.#table('host').set(host.toLowerCase(), `<${label}>`);
  }

  /** @param {string} kind */
  #table(kind) {
    let table = this.#seen.get(kind);
    if (!table) {
      table = new Map();
      this.#seen.set(kind, table);
    }
    return table;
  }

  /**
   * @param {string} kind
   * @param {string} value
   */
  #placeholder(kind, value) {
    const table = this.#table(kind);
    const key = kind === 'host' ? value.toLowerCase() : value;
    let found = table.get(key);
    if (!found) {
      const count = (this.#counts.get(kind) ?? 0) + 1;
      this.#counts.set(kind, count);
      found = `<${kind}-${count}>`;
      table.set(key, found);
    }
    return found;
  }

  /**
   * A text with everything identifying replaced.
   * @param {string} text
   * @returns {string}
   */
  text(text) {
    let out = text;
    // Longest first, so that a secret containing another is replaced whole.
    for (const [value, label] of [...this.#secrets].sort((a, b) => b[0].length - a[0].length))
      out = out.split(value).join(label);
    out = out.replace(JWT, '<jwt>').replace(API_TOKEN, '<api-token>');
    out = out.replace(EMAIL, (email) => this.#placeholder('email', email));
    out = out.replace(
      URL_HOST,
      (_all, scheme, authority) => `${scheme}${this.#placeholder('host', String(authority).replace(/^[^@]*@/, ''))}`,
    );
    out = out.replace(IPV4, (ip) => this.#placeholder('host', ip));
    out = out.replace(HOSTNAME, (host) => this.#placeholder('host', host));
    // Names are replaced outside the placeholders only: an owner named "host" must not change "<host-1>".
    const literals = [...this.#literals].sort((a, b) => b[0].length - a[0].length);
    out = out
      .split(/(<[a-z0-9-]+>)/)
      .map((part) =>
        /^<[a-z0-9-]+>$/.test(part)
          ? part
          : literals.reduce((acc, [value, label]) => acc.split(value).join(label), part),
      )
      .join('');
    out = out.replace(UUID, (id) => this.#placeholder('uuid', id.toLowerCase()));
    out = out.replace(SHA, (sha) => this.#placeholder('sha', sha));
    out = out.replace(OBJECT_ID, (id) => this.#placeholder('oid', id));
    return out;
  }

  /**
   * A JSON value with everything identifying replaced; keys are kept, types too.
   * @param {unknown} value
   * @param {string} [key] The key this value is under.
   * @returns {unknown}
   */
  value(value, key = '') {
    if (typeof value === 'string') {
      if (SECRET_KEY.test(key) && value !== '') {
        const known = this.text(value);
        return known !== value && /^<[a-z-]+>$/.test(known) ? known : '<secret>';
      }
      if (PERSON_KEY.test(key) && value !== '') return this.#placeholder(key.toLowerCase(), this.text(value));
      const redacted = this.text(value);
      // A name already known (the scratch app, its repository) keeps its placeholder; any other gets one of its own.
      if (NAME_KEY.test(key) && value !== '' && redacted === value) return this.#placeholder(key.toLowerCase(), value);
      return redacted;
    }
    if (typeof value === 'number' && NUMERIC_ID_KEY.test(key)) {
      let mapped = this.#numbers.get(value);
      if (mapped === undefined) {
        mapped = this.#numbers.size + 1;
        this.#numbers.set(value, mapped);
      }
      return mapped;
    }
    if (Array.isArray(value)) return value.map((item) => this.value(item, key));
    if (typeof value === 'object' && value !== null) {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.value(v, k)]));
    }
    return value;
  }
}
