/** The parts of Scalingo's API objects this product reads. Every field is optional where the API may omit it. */

export interface ScmRepoLink {
  id?: string;
  app_id?: string;
  /** Not documented: read when the API gives it, else the app is named from `app_id`. */
  app_name?: string;
  /** SCM root URL, e.g. https://github.com */
  url?: string;
  owner?: string;
  repo?: string;
  branch?: string;
  scm_type?: string;
  auth_integration_uuid?: string;
  auto_deploy_enabled?: boolean;
  deploy_review_apps_enabled?: boolean;
  delete_on_close_enabled?: boolean;
  delete_stale_enabled?: boolean;
  hours_before_delete_on_close?: number;
  hours_before_delete_stale?: number;
  automatic_creation_from_forks_allowed?: boolean;
}

/** The link settings this product may set. A field that is absent is left as it is on Scalingo. */
export interface ScmRepoLinkSettings {
  branch?: string;
  auto_deploy_enabled?: boolean;
  deploy_review_apps_enabled?: boolean;
  automatic_creation_from_forks_allowed?: boolean;
  delete_on_close_enabled?: boolean;
  hours_before_delete_on_close?: number;
  delete_stale_enabled?: boolean;
  hours_before_delete_stale?: number;
}

export interface ScmIntegration {
  id: string;
  scm_type?: string;
  url?: string;
  username?: string;
}

export interface User {
  id?: string;
  username?: string;
}

export interface App {
  id?: string;
  name?: string;
  url?: string;
  base_url?: string;
  last_deployment_id?: string | null;
  /** `deployments_stream`: the app's deployments stream (a WebSocket URL); never built, only read from here. */
  links?: { deployments_stream?: string };
}

export interface Deployment {
  id: string;
  status: string;
  created_at?: string;
  finished_at?: string;
  git_ref?: string;
  duration?: number;
  links?: { output?: string };
}

export interface ReviewApp {
  id?: string;
  app_id?: string;
  app_name?: string;
  stale_deletion_date?: string | null;
  on_close_deletion_date?: string | null;
  pull_request?: { number?: number | string; branch_name?: string; html_url?: string; title?: string } | null;
  last_deployment?: { id?: string; upstream_deployment_id?: string; status?: string; created_at?: string } | null;
}

export const IN_PROGRESS_STATUSES = ['queued', 'building', 'pushing', 'starting'] as const;
export const KNOWN_TERMINAL_STATUSES = [
  'success',
  'aborted',
  'build-error',
  'crashed-error',
  'timeout-error',
  'hook-error',
] as const;

/** As the official Go client: anything that is not in progress is finished, and anything but success failed. */
export function isFinished(status: string): boolean {
  return !(IN_PROGRESS_STATUSES as readonly string[]).includes(status);
}
