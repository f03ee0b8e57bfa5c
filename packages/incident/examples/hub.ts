import { composeHandlers, listen, type OpsRequest } from '@ops/core';
import { createAlertmanagerReceiver, createIncidentManager, createPagerDutyEventsReceiver } from '@ops/incident';

/** A small incident hub: Alertmanager and PagerDuty-speaking tools post here. */
export async function startHub(options: { port: number; token: string }) {
  const incidents = createIncidentManager();
  const authorize = (request: OpsRequest) => request.headers['authorization'] === `Bearer ${options.token}`;
  const server = await listen(
    composeHandlers(createAlertmanagerReceiver(incidents, { path: '/alertmanager', authorize }), createPagerDutyEventsReceiver(incidents, { authorize })),
    { port: options.port },
  );
  return {
    url: server.url,
    incidents,
    async close() {
      await server.close();
      await incidents.close();
    },
  };
}
