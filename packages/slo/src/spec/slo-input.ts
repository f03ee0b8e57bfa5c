import { readFile } from 'node:fs/promises';
import { ConfigError, parseConfigText, type Duration, type LoadConfigOptions } from '@ops/core';
import { parseAllDocuments } from 'yaml';
import { z } from 'zod';
import { convertOpenSlo } from './openslo.js';
import { resolveSloDocument, type ResolvedSlo, type SloDocument } from './slo-spec.js';
import { convertSlothDocuments, isSlothDocument } from './sloth.js';

/** The spec format a file was written in. */
export type SloInputFormat = 'ops' | 'sloth' | 'openslo';

/** A group of SLOs from one input document, with the Kubernetes metadata of a `PrometheusServiceLevel`. */
export interface SloInputGroup {
  document: SloDocument;
  slos: ResolvedSlo[];
  /** `metadata` of a Sloth `PrometheusServiceLevel` (the `PrometheusRule` it becomes is named after it). */
  kubernetes?: { name: string; namespace?: string; labels?: Record<string, string> };
}

/** SLOs read from a file in any supported format. */
export interface SloInput {
  format: SloInputFormat;
  /** Every SLO, in file order. */
  slos: ResolvedSlo[];
  /** One group per input document (per service for OpenSLO). */
  groups: SloInputGroup[];
  /** What a converted format could not carry over (paths and reasons); empty for `@ops/slo` files. */
  notes: string[];
  /** SLOs of the input that could not be converted at all (Sloth SLI plugins, objective 100). */
  skipped: string[];
}

/** Options of {@link parseSloInput}. */
export interface SloInputOptions extends LoadConfigOptions {
  /** Period of Sloth specs, which carry none (Sloth's `--default-slo-period`). Default `'30d'`. */
  slothWindow?: Duration;
}

function withoutService(document: SloDocument): SloDocument {
  return { ...document, slos: document.slos.map(({ service: _service, ...slo }) => slo) };
}

/**
 * Reads SLOs from YAML/JSON text in any supported format, detected per file: `@ops/slo` documents (one or several
 * YAML documents, `${ENV}` interpolated), Sloth `prometheus/v1` specs and `PrometheusServiceLevel` resources
 * (multi-document too; see {@link convertSlothDocuments}), or OpenSLO (`openslo/v1` and Sloth's `openslo/v1alpha`).
 *
 * @throws ConfigError naming the bad paths.
 */
export function parseSloInput(text: string, source = 'slos.yaml', options: SloInputOptions = {}): SloInput {
  const parsed = parseAllDocuments(text).filter((document) => document.contents !== null);
  const failed = parsed.find((document) => document.errors.length > 0);
  if (failed)
    throw new ConfigError(`invalid ${source}: cannot parse YAML: ${failed.errors[0]?.message ?? 'syntax error'}`, [], {
      cause: failed.errors[0],
    });
  const documents = parsed.map((document) => document.toJSON() as unknown);
  const isOpenSlo = (document: unknown) =>
    typeof document === 'object' &&
    document !== null &&
    String((document as { apiVersion?: unknown }).apiVersion).startsWith('openslo/');
  if (documents.some(isSlothDocument)) {
    const conversion = convertSlothDocuments(
      documents,
      options.slothWindow === undefined ? {} : { window: options.slothWindow },
    );
    const groups = conversion.documents.map((entry, index) => ({
      document: entry.document,
      slos: entry.document.slos.length === 0 ? [] : resolveSloDocument(entry.document, `${source} documents[${index}]`),
      ...(entry.kubernetes ? { kubernetes: entry.kubernetes } : {}),
    }));
    return {
      format: 'sloth',
      slos: groups.flatMap((group) => group.slos),
      groups,
      notes: conversion.notes,
      skipped: conversion.skipped,
    };
  }
  if (documents.some(isOpenSlo)) {
    const conversion = convertOpenSlo(text, source);
    const byService = new Map<string, SloDocument>();
    for (const spec of conversion.specs) {
      const service = spec.service as string;
      const document = byService.get(service) ?? { service, slos: [] };
      document.slos.push(spec);
      byService.set(service, document);
    }
    const groups = [...byService.values()].map((document) => ({
      document: withoutService(document),
      slos: resolveSloDocument(document, source),
    }));
    return {
      format: 'openslo',
      slos: groups.flatMap((group) => group.slos),
      groups,
      notes: conversion.notes,
      skipped: [],
    };
  }
  if (parsed.length <= 1) {
    // The common case keeps core's parsing: ${ENV} interpolation, JSON by extension, paths in errors.
    const raw = parseConfigText(text, z.unknown(), source, options) as SloDocument;
    const slos = resolveSloDocument(raw, source);
    return { format: 'ops', slos, groups: [{ document: raw, slos }], notes: [], skipped: [] };
  }
  const groups = parsed.map((document, index) => {
    const documentText = document.toString();
    const raw = parseConfigText(documentText, z.unknown(), `${source} documents[${index}]`, {
      ...options,
      format: 'yaml',
    }) as SloDocument;
    return { document: raw, slos: resolveSloDocument(raw, `${source} documents[${index}]`) };
  });
  return { format: 'ops', slos: groups.flatMap((group) => group.slos), groups, notes: [], skipped: [] };
}

/**
 * Reads a file with {@link parseSloInput}.
 *
 * @example
 * ```ts
 * const { slos, notes } = await loadSloInput('sloth/getting-started.yml');
 * ```
 */
export async function loadSloInput(file: string, options: SloInputOptions = {}): Promise<SloInput> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, [], {
      cause: error,
    });
  }
  return parseSloInput(text, file, options);
}
