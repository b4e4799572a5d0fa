/** Every page of Scalingo's dashboard this product points people to. */

export const DASHBOARD = 'https://dashboard.scalingo.com';
export const TOKENS_PAGE = `${DASHBOARD}/account/tokens`;
export const INTEGRATIONS_PAGE = `${DASHBOARD}/account/integrations`;
export const BILLING_PAGE = `${DASHBOARD}/billing`;

/** An app's page, or one of its deployments. */
export function dashboardUrl(region: string, app: string, deploymentId?: string): string {
  const base = `${DASHBOARD}/apps/${encodeURIComponent(region)}/${encodeURIComponent(app)}`;
  return deploymentId ? `${base}/deploy/${encodeURIComponent(deploymentId)}` : base;
}
