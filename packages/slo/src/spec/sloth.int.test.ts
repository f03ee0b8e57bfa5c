import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from '@ops/core';
import { tempDir } from '@ops/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { createSloCli } from '../cli/slo-cli.js';
import { generatePrometheusRules, type RuleFile } from '../rules/prometheus-rules.js';
import { alertingRules, checkRules, expectedAlert, testRules } from '../rules/promtool-harness.js';
import { loadSloInput } from './slo-input.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'sloth');
const counter = (perMinute: number) => `0+${perMinute}x40`;
const gauge = (value: number) => `${value}x40`;

// Series that make every SLI of the example 100% bad (a code="200" series with no traffic keeps "good" queries
// such as code!~"(5..|429)" from being empty).
const httpErrors = [
  { series: 'http_request_duration_seconds_count{job="myservice",code="500"}', values: counter(60) },
  { series: 'http_request_duration_seconds_count{job="myservice",code="200"}', values: counter(0) },
];
const wifiUnhappy = [
  { series: 'unifipoller_client_satisfaction_ratio{mac="aa"}', values: gauge(0) },
  { series: 'unifipoller_client_satisfaction_ratio{mac="bb"}', values: gauge(0) },
];
const apiserverDown = [
  { series: 'apiserver_request_total{code="500",verb="GET"}', values: counter(60) },
  { series: 'apiserver_request_total{code="200",verb="GET"}', values: counter(0) },
  { series: 'apiserver_request_duration_seconds_count{verb="GET"}', values: counter(60) },
  { series: 'apiserver_request_duration_seconds_bucket{le="0.4",verb="GET"}', values: counter(0) },
  { series: 'apiserver_request_duration_seconds_bucket{le="5",verb="GET"}', values: counter(0) },
];

const examples: Array<{
  file: string;
  format: 'sloth' | 'openslo';
  slos: number;
  series: Array<{ series: string; values: string }>;
}> = [
  { file: 'getting-started.yml', format: 'sloth', slos: 1, series: httpErrors },
  { file: 'home-wifi.yml', format: 'sloth', slos: 2, series: wifiUnhappy },
  { file: 'kubernetes-apiserver.yml', format: 'sloth', slos: 2, series: apiserverDown },
  { file: 'multifile.yml', format: 'sloth', slos: 2, series: httpErrors },
  { file: 'raw-home-wifi.yml', format: 'sloth', slos: 1, series: wifiUnhappy },
  {
    file: 'no-alerts.yml',
    format: 'sloth',
    slos: 1,
    series: [{ series: 'http_request_duration_seconds_count{job="myapp",code="500"}', values: counter(60) }],
  },
  { file: 'k8s-getting-started.yml', format: 'sloth', slos: 1, series: httpErrors },
  { file: 'k8s-multifile.yml', format: 'sloth', slos: 2, series: httpErrors },
  { file: 'k8s-home-wifi.yml', format: 'sloth', slos: 2, series: wifiUnhappy },
  { file: 'openslo-getting-started.yml', format: 'openslo', slos: 1, series: httpErrors },
  { file: 'openslo-kubernetes-apiserver.yml', format: 'openslo', slos: 3, series: apiserverDown },
];

function labelText(labels: Record<string, string>): string {
  return `{${Object.entries(labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, value]) => `${name}=${JSON.stringify(value)}`)
    .join(',')}}`;
}

describe("Sloth's published examples: converted, promtool check rules, one promtool test rules case each", () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    dir = await tempDir('slo-sloth');
  });
  afterAll(async () => {
    await dir?.dispose();
  });

  examples.forEach((example, index) => {
    it(example.file, async () => {
      const input = await loadSloInput(join(fixtures, example.file));
      expect(input.format).toBe(example.format);
      expect(input.slos).toHaveLength(example.slos);
      expect(input.skipped).toEqual([]);
      const rules = generatePrometheusRules(input.slos);
      const rulesFile = `example-${index}.yaml`;
      expect((await checkRules(dir.path, rulesFile, rules)).output).toMatch(/SUCCESS: \d+ rules found/);
      const alerts = alertingRules(rules);
      const byName = new Map<string, typeof alerts>();
      for (const alert of alerts) byName.set(alert.alert, [...(byName.get(alert.alert) ?? []), alert]);
      // Every event bad from minute 0: every alert of the file fires at 20m; the 5m error ratio of every SLO is 1.
      const result = await testRules(dir.path, `example-${index}.test.yaml`, {
        rule_files: [rulesFile],
        evaluation_interval: '1m',
        tests: [
          {
            interval: '1m',
            input_series: example.series,
            alert_rule_test: [...byName].map(([alertname, rulesOfName]) => ({
              eval_time: '20m',
              alertname,
              exp_alerts: rulesOfName.map((rule) => expectedAlert(rule, {})),
            })),
            promql_expr_test: [
              {
                expr: 'ops_slo:error_ratio{slo_window="5m"}',
                eval_time: '20m',
                exp_samples: input.slos.map((slo) => ({
                  labels: `ops_slo:error_ratio${labelText({ ...slo.labels, slo_service: slo.service, slo_name: slo.name, slo_window: '5m' })}`,
                  value: 1,
                })),
              },
            ],
          },
        ],
      });
      expect(result.output).toMatch(/SUCCESS/);
      expect(result.ok).toBe(true);
      if (example.file === 'no-alerts.yml') expect(alerts).toEqual([]);
      else expect(alerts.length).toBeGreaterThan(0);
    });
  });

  it('ops-slo rules reads each example; PrometheusServiceLevel input becomes PrometheusRule manifests named after it', async () => {
    for (const example of examples) {
      let stdout = '';
      const io = { stdout: { write: (chunk: string) => (stdout += chunk) }, stderr: { write: () => true }, env: {} };
      expect(await runCli(createSloCli(), ['rules', join(fixtures, example.file)], io)).toBe(0);
      const documents = parseAllDocuments(stdout).map(
        (document) =>
          document.toJSON() as {
            kind?: string;
            metadata?: { name: string; namespace?: string };
            spec?: RuleFile;
            groups?: unknown;
          },
      );
      const ruleFiles = example.file.startsWith('k8s-')
        ? documents.map((document) => document.spec as RuleFile)
        : [documents[0] as RuleFile];
      if (example.file.startsWith('k8s-')) {
        expect(
          documents.every(
            (document) => document.kind === 'PrometheusRule' && document.metadata?.namespace === 'monitoring',
          ),
        ).toBe(true);
        expect(documents[0]?.metadata?.name).toBe(
          'sloth-slo-my-service'.replace(
            'my-service',
            example.file === 'k8s-home-wifi.yml' ? 'home-wifi' : 'my-service',
          ),
        );
      }
      for (const [fileIndex, ruleFile] of ruleFiles.entries()) {
        expect((await checkRules(dir.path, `cli-${fileIndex}.yaml`, ruleFile)).output, example.file).toMatch(/SUCCESS/);
      }
    }
  });
});

describe('Sloth conversion details', () => {
  it('merges alerting the way Sloth does: name, labels and annotations per severity; disable drops the tiers', async () => {
    const input = await loadSloInput(join(fixtures, 'getting-started.yml'));
    const slo = input.slos[0];
    expect(slo?.objective).toBe(0.999);
    expect(slo?.labels).toEqual({ owner: 'myteam', repo: 'myorg/myservice', tier: '2' });
    expect(slo?.alerts.page).toEqual({
      name: 'MyServiceHighErrorRate',
      labels: { category: 'availability', severity: 'pageteam', routing_key: 'myteam' },
      annotations: { summary: "High error rate on 'myservice' requests responses" },
    });
    expect(slo?.alerts.ticket.labels).toEqual({
      category: 'availability',
      severity: 'slack',
      slack_channel: '#alerts-myteam',
    });
    const alerts = alertingRules(generatePrometheusRules(input.slos));
    expect(alerts.map((alert) => [alert.alert, alert.labels.slo_tier, alert.labels.severity])).toEqual([
      ['MyServiceHighErrorRate', 'page-quick', 'pageteam'],
      ['MyServiceHighErrorRate', 'page-slow', 'pageteam'],
      ['MyServiceHighErrorRate', 'ticket-quick', 'slack'],
      ['MyServiceHighErrorRate', 'ticket-slow', 'slack'],
    ]);
    expect(alerts[0]?.annotations.summary).toBe("High error rate on 'myservice' requests responses");
    const noAlerts = await loadSloInput(join(fixtures, 'no-alerts.yml'));
    expect(noAlerts.slos[0]?.tiers).toEqual([]);
    const apiserver = await loadSloInput(join(fixtures, 'kubernetes-apiserver.yml'));
    expect(apiserver.slos[0]?.alerts.page.annotations.runbook).toMatch(/^https:\/\/github\.com\/kubernetes-monitoring/);
  });

  it('reports what it cannot carry: SLI plugins (skipped, ops-slo import exits 1), SLO plugin chains (notes)', async () => {
    const dir = await tempDir('slo-sloth-import');
    try {
      const file = join(dir.path, 'plugins.yml');
      await writeFile(
        file,
        [
          'version: "prometheus/v1"',
          'service: "myservice"',
          'slo_plugins:',
          '  chain: [{ id: "sloth.dev/contrib/validate/v1" }]',
          'slos:',
          '  - name: "requests-availability"',
          '    objective: 99.9',
          '    sli:',
          '      plugin: { id: "sloth-common/kubernetes/apiserver/availability", options: { filter: x } }',
          '    alerting: { page_alert: { disable: true }, ticket_alert: { disable: true } }',
          '  - name: "Requests.Latency"',
          '    objective: 99',
          '    sli:',
          '      raw: { error_ratio_query: "sum(rate(errors[{{.window}}])) / sum(rate(total[{{.window}}]))" }',
          '    alerting: { name: Latency }',
          '',
        ].join('\n'),
      );
      let stdout = '';
      let stderr = '';
      const io = {
        stdout: { write: (chunk: string) => (stdout += chunk) },
        stderr: { write: (chunk: string) => (stderr += chunk) },
        env: {},
      };
      expect(await runCli(createSloCli(), ['import', file], io)).toBe(1);
      expect(stderr).toContain('note: documents[0].slo_plugins: Sloth SLO plugins are not carried');
      expect(stderr).toContain('note: documents[0].slos[1].name: "Requests.Latency" renamed "requests-latency"');
      expect(stderr).toContain(
        'not converted: documents[0].slos[0]: SLI plugin "sloth-common/kubernetes/apiserver/availability" cannot be converted',
      );
      const converted = parse(stdout) as { service: string; slos: Array<{ name: string; sli: { type: string } }> };
      expect(converted.service).toBe('myservice');
      expect(converted.slos.map((slo) => [slo.name, slo.sli.type])).toEqual([['requests-latency', 'raw']]);
      // `rules` refuses a file with an SLO it cannot convert (exit 2, the reason named).
      let rulesErr = '';
      expect(
        await runCli(createSloCli(), ['rules', file], {
          ...io,
          stderr: { write: (chunk: string) => (rulesErr += chunk) },
        }),
      ).toBe(2);
      expect(rulesErr).toContain('SLI plugin');
      // The converted file reads back as our own format.
      const out = join(dir.path, 'converted.yaml');
      await writeFile(out, stdout);
      expect((await loadSloInput(out)).format).toBe('ops');
      expect(await readFile(out, 'utf8')).toContain('errorRatioQuery');
    } finally {
      await dir.dispose();
    }
  });
});
