import { ConfigError, parseDuration, type Duration } from '@ops/core';
import type { SeverityAlertSpec, SloDocument, SloSpec } from './slo-spec.js';

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Whether a parsed YAML document is a Sloth spec: `version: prometheus/v1`, or the `PrometheusServiceLevel` CRD. */
export function isSlothDocument(document: unknown): boolean {
  if (!isObject(document)) return false;
  return (
    document.version === 'prometheus/v1' ||
    (document.kind === 'PrometheusServiceLevel' &&
      typeof document.apiVersion === 'string' &&
      document.apiVersion.startsWith('sloth.slok.dev/'))
  );
}

/** Options of {@link convertSlothDocuments}. */
export interface SlothConversionOptions {
  /** The SLO period: Sloth's `--default-slo-period` (its specs carry none). Default `'30d'`. */
  window?: Duration;
}

/** One Sloth document converted: our document, and the CRD's metadata when it was a `PrometheusServiceLevel`. */
export interface ConvertedSlothDocument {
  document: SloDocument;
  /** `metadata` of a `PrometheusServiceLevel` (name, namespace, labels), for the `PrometheusRule` it becomes. */
  kubernetes?: { name: string; namespace?: string; labels?: Record<string, string> };
}

/** Sloth documents converted to `@ops/slo` documents, and what could not be carried over. */
export interface SlothConversion {
  documents: ConvertedSlothDocument[];
  /** Fields dropped or changed, each with its path (`documents[0].slos[1].plugins: …`). */
  notes: string[];
  /** SLOs that could not be converted at all (a Sloth SLI plugin), with the reason. */
  skipped: string[];
}

const NAME_PATTERN = /^[a-z0-9]([a-z0-9_-]{0,61}[a-z0-9])?$/;

/** Sloth names allow upper case and dots; ours are lower-case with "-" and "_". */
function toName(value: string, path: string, notes: string[]): string {
  if (NAME_PATTERN.test(value)) return value;
  const name = value
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^[-_]+|[-_]+$/g, '')
    .slice(0, 63);
  notes.push(
    `${path}: ${JSON.stringify(value)} renamed ${JSON.stringify(name)} (names are lower-case letters, digits, "-" and "_")`,
  );
  return name;
}

function stringRecord(value: unknown): Record<string, string> | undefined {
  if (!isObject(value)) return undefined;
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, String(item)]));
}

/** A field under its snake_case (`prometheus/v1`) or camelCase (CRD) name. */
function field(object: Json, snake: string, camel: string): unknown {
  return object[snake] ?? object[camel];
}

function severityAlert(value: unknown): SeverityAlertSpec | undefined {
  if (!isObject(value)) return undefined;
  const labels = stringRecord(value.labels);
  const annotations = stringRecord(value.annotations);
  const alert: SeverityAlertSpec = {
    ...(value.disable === true ? { disable: true } : {}),
    ...(labels ? { labels } : {}),
    ...(annotations ? { annotations } : {}),
  };
  return Object.keys(alert).length > 0 ? alert : undefined;
}

/**
 * Converts Sloth specs — `version: "prometheus/v1"` files and `sloth.slok.dev/v1` `PrometheusServiceLevel` resources,
 * one per YAML document — to `@ops/slo` documents. Mapped: `service`, `labels` (group and SLO), `slos[].name`,
 * `description`, `objective` (a percentage, divided by 100), `sli.events` (`error_query` / `errorQuery`,
 * `total_query` / `totalQuery`) → an `events` SLI, `sli.raw` (`error_ratio_query`) → a `raw` SLI, and `alerting`
 * (`name`, `labels`, `annotations`, `page_alert` / `pageAlert`, `ticket_alert` / `ticketAlert` with `disable`,
 * `labels`, `annotations`) merged the way Sloth merges it. Not carried (each reported in `notes` / `skipped`):
 * SLI plugins (the SLO is skipped), SLO plugin chains (`slo_plugins`, `plugins`).
 *
 * @throws ConfigError when a document is not a Sloth spec or misses what every SLO needs.
 */
export function convertSlothDocuments(
  documents: readonly unknown[],
  options: SlothConversionOptions = {},
): SlothConversion {
  const window = options.window ?? '30d';
  parseDuration(window, 'window');
  const notes: string[] = [];
  const skipped: string[] = [];
  const issues: Array<{ path: string; message: string }> = [];
  const converted: ConvertedSlothDocument[] = [];
  documents.forEach((raw, documentIndex) => {
    const at = `documents[${documentIndex}]`;
    if (!isSlothDocument(raw)) {
      issues.push({
        path: at,
        message:
          'expected a Sloth spec (version: "prometheus/v1") or a PrometheusServiceLevel (apiVersion: sloth.slok.dev/v1)',
      });
      return;
    }
    const document = raw as Json;
    const isCrd = document.kind === 'PrometheusServiceLevel';
    const spec = isCrd ? (isObject(document.spec) ? document.spec : {}) : document;
    const base = isCrd ? `${at}.spec` : at;
    if (typeof spec.service !== 'string' || spec.service === '') {
      issues.push({ path: `${base}.service`, message: 'expected a service name' });
      return;
    }
    const service = toName(spec.service, `${base}.service`, notes);
    const groupLabels = stringRecord(spec.labels);
    if (field(spec, 'slo_plugins', 'sloPlugins') !== undefined)
      notes.push(`${base}.${isCrd ? 'sloPlugins' : 'slo_plugins'}: Sloth SLO plugins are not carried (out of scope)`);
    const slos: SloSpec[] = [];
    const list = Array.isArray(spec.slos) ? spec.slos : [];
    if (list.length === 0) issues.push({ path: `${base}.slos`, message: 'expected at least one SLO' });
    list.forEach((item: unknown, sloIndex: number) => {
      const path = `${base}.slos[${sloIndex}]`;
      if (!isObject(item) || typeof item.name !== 'string') {
        issues.push({ path: `${path}.name`, message: 'expected an SLO name' });
        return;
      }
      const name = toName(item.name, `${path}.name`, notes);
      if (item.plugins !== undefined) notes.push(`${path}.plugins: Sloth SLO plugins are not carried (out of scope)`);
      const sliSpec = isObject(item.sli) ? item.sli : {};
      let sli: SloSpec['sli'] | undefined;
      if (isObject(sliSpec.events)) {
        sli = {
          type: 'events',
          errorQuery: String(field(sliSpec.events, 'error_query', 'errorQuery') ?? ''),
          totalQuery: String(field(sliSpec.events, 'total_query', 'totalQuery') ?? ''),
        };
      } else if (isObject(sliSpec.raw)) {
        sli = {
          type: 'raw',
          errorRatioQuery: String(field(sliSpec.raw, 'error_ratio_query', 'errorRatioQuery') ?? ''),
        };
      } else if (isObject(sliSpec.plugin)) {
        skipped.push(
          `${path}: SLI plugin ${JSON.stringify(sliSpec.plugin.id)} cannot be converted (Sloth SLI plugins are out of scope); write its query as an events or raw SLI`,
        );
        return;
      } else {
        issues.push({ path: `${path}.sli`, message: 'expected events, raw or plugin' });
        return;
      }
      const objective = typeof item.objective === 'number' ? item.objective : Number.NaN;
      if (!(objective > 0 && objective <= 100)) {
        issues.push({
          path: `${path}.objective`,
          message: `expected a percentage 0 < objective <= 100; got ${JSON.stringify(item.objective)}`,
        });
        return;
      }
      if (objective === 100) {
        skipped.push(`${path}: objective 100 leaves no error budget (burn rates divide by zero); use e.g. 99.99`);
        return;
      }
      const alerting = isObject(item.alerting) ? item.alerting : {};
      const page = severityAlert(field(alerting, 'page_alert', 'pageAlert'));
      const ticket = severityAlert(field(alerting, 'ticket_alert', 'ticketAlert'));
      const labels = stringRecord(alerting.labels);
      const annotations = stringRecord(alerting.annotations);
      const sloLabels = stringRecord(item.labels);
      slos.push({
        name,
        objective: Number((objective / 100).toPrecision(15)),
        ...(typeof item.description === 'string' ? { description: item.description } : {}),
        sli,
        window,
        ...(sloLabels ? { labels: sloLabels } : {}),
        alerting: {
          ...(typeof alerting.name === 'string' ? { name: alerting.name } : {}),
          ...(labels ? { labels } : {}),
          ...(annotations ? { annotations } : {}),
          ...(page ? { page } : {}),
          ...(ticket ? { ticket } : {}),
        },
      });
    });
    const metadata = isCrd && isObject(document.metadata) ? document.metadata : undefined;
    const metadataLabels = stringRecord(metadata?.labels);
    converted.push({
      document: { service, ...(groupLabels ? { labels: groupLabels } : {}), slos },
      ...(metadata && typeof metadata.name === 'string'
        ? {
            kubernetes: {
              name: metadata.name,
              ...(typeof metadata.namespace === 'string' ? { namespace: metadata.namespace } : {}),
              ...(metadataLabels ? { labels: metadataLabels } : {}),
            },
          }
        : {}),
    });
  });
  if (issues.length > 0)
    throw new ConfigError(
      `invalid Sloth spec: ${issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ')}`,
      issues,
    );
  if (converted.some((entry) => entry.document.slos.length > 0)) {
    notes.push(
      `alerts: one alert rule per tier (slo_tier label) where Sloth writes one per severity OR-ing two tiers; the same four tiers and factors, for a ${String(window)} period`,
    );
  }
  return { documents: converted, notes, skipped };
}
