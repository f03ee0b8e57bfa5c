import { okJson } from './http.js';

/** One alert of Prometheus' `GET /api/v1/alerts`. */
export interface PrometheusAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: 'pending' | 'firing';
  activeAt: string;
  value: string;
}

/** Prometheus' active alerts (pending and firing; resolved ones are not listed). */
export async function prometheusAlerts(prometheusUrl: string): Promise<PrometheusAlert[]> {
  const answer = await okJson<{ status: string; data: { alerts: PrometheusAlert[] } }>(
    `${prometheusUrl}/api/v1/alerts`,
  );
  return answer.data.alerts;
}

/** An instant query; returns the samples as `{ labels, value }`. */
export async function prometheusQuery(
  prometheusUrl: string,
  query: string,
): Promise<Array<{ labels: Record<string, string>; value: number }>> {
  const answer = await okJson<{
    data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> };
  }>(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(query)}`);
  return answer.data.result.map((sample) => ({ labels: sample.metric, value: Number(sample.value[1]) }));
}

/** Names of the rule groups Prometheus loaded, and how many alerting rules they hold. */
export async function prometheusRuleGroups(prometheusUrl: string): Promise<Array<{ name: string; alerts: number }>> {
  const answer = await okJson<{
    data: { groups: Array<{ name: string; rules: Array<{ type: string }> }> };
  }>(`${prometheusUrl}/api/v1/rules`);
  return answer.data.groups.map((group) => ({
    name: group.name,
    alerts: group.rules.filter((rule) => rule.type === 'alerting').length,
  }));
}

/** One alert of Alertmanager's `GET /api/v2/alerts`. */
export interface AlertmanagerAlert {
  labels: Record<string, string>;
  receivers: Array<{ name: string }>;
  status: { state: string };
  fingerprint: string;
}

/** Alertmanager's active alerts. */
export function alertmanagerAlerts(alertmanagerUrl: string): Promise<AlertmanagerAlert[]> {
  return okJson<AlertmanagerAlert[]>(`${alertmanagerUrl}/api/v2/alerts`);
}
