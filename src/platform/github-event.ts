/** @deprecated Moved to ./github/event.ts; kept until the in-process test harness imports the new path. */
export { githubContext, type GitHubPayload } from './github/event.js';
