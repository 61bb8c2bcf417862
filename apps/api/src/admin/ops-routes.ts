import type { Router } from 'express';
import helmet from 'helmet';
import { createMetricsEndpoint } from '@agents/observability';
import type { Metrics } from '@agents/observability';
import { BULL_BOARD_PATH } from './bull-board';
import type { QueueBoard } from './bull-board';
import { operatorBasicAuth } from './operator-basic-auth';

export interface OpsDeps {
  metrics?: Metrics;
  /** Scrape-time gauges (queue depths), refreshed before each /metrics answer. */
  beforeScrape?: () => Promise<void>;
  metricsToken?: string;
  board?: QueueBoard;
}

/**
 * The operator surfaces outside /v1 (API.md "Operations"): Bull Board behind HTTP Basic and
 * /metrics behind a bearer token. Mounted before the API's strict CSP: the board's page needs its
 * own inline bootstrap script. Added to `r` (the app) at their own paths rather than as a router
 * mounted at `/`, so that every other request passes them with two path tests instead of entering
 * a router.
 */
export function mountOpsRoutes(r: Router, deps: OpsDeps & { operatorApiKey: string }): void {
  if (deps.board) {
    r.use(BULL_BOARD_PATH, helmet({ contentSecurityPolicy: false }), operatorBasicAuth(deps.operatorApiKey), deps.board.router);
  }
  if (deps.metrics) {
    const endpoint = createMetricsEndpoint({ metrics: deps.metrics, tokens: [deps.operatorApiKey, deps.metricsToken], beforeScrape: deps.beforeScrape });
    r.get('/metrics', async (req, res) => {
      await endpoint(req, res);
    });
  }
}
