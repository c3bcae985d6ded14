import { readFileSync } from 'node:fs';
import { createApiMetrics, type ApiMetrics } from '@outbound/api';
import { createDispatcherMetrics } from '@outbound/dispatcher';
import { describe, expect, it } from 'vitest';

/**
 * infra/grafana/outbound-dashboard.json against the metrics the code defines: every series a
 * query (or a variable) reads exists in the API's or the dispatcher's registry, and every
 * Outbound metric is on the dashboard, so a renamed metric or a new one fails here.
 */

interface Target {
  expr: string;
}
interface Panel {
  type: string;
  title: string;
  targets?: Target[];
  panels?: Panel[];
}
interface Dashboard {
  panels: Panel[];
  templating: { list: { name: string; type: string; definition?: string }[] };
}

const dashboard = JSON.parse(
  readFileSync(new URL('../../infra/grafana/outbound-dashboard.json', import.meta.url), 'utf8'),
) as Dashboard;

const panels = (list: readonly Panel[]): Panel[] =>
  list.flatMap((panel) => [panel, ...panels(panel.panels ?? [])]);

/** PromQL words that read like names: aggregation modifiers, set operators. */
const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
const OPERATORS = new Set(['and', 'or', 'unless', 'bool', 'offset']);

/** The series names an expression reads (functions, labels, strings and ranges left out). */
function seriesNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b\d+(ms|s|m|h|d|w|y)\b/g, '')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)\s*/g, '')
    .replace(/\$\{?\w+\}?/g, '')
    .replace(/\b\d+(\.\d+)?(e[+-]?\d+)?\b/gi, '');
  return [...bare.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)]
    .filter(([, name, call]) => call === undefined && !KEYWORDS.has(name!) && !OPERATORS.has(name!))
    .map(([, name]) => name!);
}

/** Every series name a registry exposes: histograms as their `_bucket`, `_sum` and `_count`. */
function exposed(registry: ApiMetrics['registry']): Map<string, string> {
  const names = new Map<string, string>();
  for (const { name, type } of registry.getMetricsAsArray()) {
    if (String(type) === 'histogram' || String(type) === 'summary') {
      for (const suffix of ['_bucket', '_sum', '_count']) names.set(`${name}${suffix}`, name);
    }
    names.set(name, name);
  }
  return names;
}

describe('infra/grafana/outbound-dashboard.json', () => {
  const api = createApiMetrics();
  const dispatcher = createDispatcherMetrics();
  const known = new Map([...exposed(api.registry), ...exposed(dispatcher.registry)]);
  const queries = panels(dashboard.panels).flatMap((panel) =>
    (panel.targets ?? []).map((target) => ({ panel: panel.title, expr: target.expr })),
  );
  const used = queries.flatMap(({ panel, expr }) =>
    seriesNames(expr).map((name) => ({ panel, name })),
  );

  it('finds the series names of a PromQL expression', () => {
    expect(
      seriesNames(
        'histogram_quantile(0.99, sum by (le, route) (rate(a_bucket{job=~"$j", x="y{"}[5m]))) / ' +
          'ignoring (le) b_total offset 5m and on (x) c',
      ),
    ).toEqual(['a_bucket', 'b_total', 'c']);
  });

  it('reads only series the API or the dispatcher exposes', () => {
    expect(queries.length).toBeGreaterThanOrEqual(15);
    expect(used.filter(({ name }) => !known.has(name))).toEqual([]);
    for (const variable of dashboard.templating.list.filter((each) => each.type === 'query')) {
      const metric = /^label_values\(([a-zA-Z_:][a-zA-Z0-9_:]*),/.exec(variable.definition ?? '');
      expect(metric?.[1], variable.name).toBeDefined();
      expect(known.has(metric![1]!), `${variable.name}: ${metric![1]}`).toBe(true);
    }
  });

  it('shows every Outbound metric of both registries', () => {
    const shown = new Set(used.map(({ name }) => known.get(name)));
    const ours = [...new Set(known.values())].filter(
      (name) =>
        !name.startsWith('outbound_api_') &&
        !name.startsWith('outbound_dispatcher_') &&
        (name.startsWith('outbound_') || name.startsWith('http_')),
    );
    expect(ours.length).toBeGreaterThanOrEqual(9);
    expect(ours.filter((name) => !shown.has(name))).toEqual([]);
  });
});
