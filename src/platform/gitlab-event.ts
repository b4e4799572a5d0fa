/** @deprecated Moved to ./gitlab/event.ts; kept until the in-process test harness imports the new path. */
export { gitlabContext } from './gitlab/event.js';
