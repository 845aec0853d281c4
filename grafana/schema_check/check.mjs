// Grafana's own npm code run against our generated dashboards (tests call this; see README.md).
//
//   node check.mjs schema FILE.json...   validate each dashboard against @grafana/schema's types
//   node check.mjs interval < CASES.json  $__interval of each case by @grafana/data's rangeUtil
//
// schema: the TypeScript types of @grafana/schema (Dashboard; per panel type its Options and
// FieldConfig) become JSON Schema with ts-json-schema-generator, cached under node_modules/.cache
// by package version, and ajv validates. Unknown properties are errors: a misspelt option
// (thresholdStyle for thresholdsStyle) is silently ignored by Grafana, so it must fail here.
// Prints {"file": ["error", ...]} and exits 1 when any file has errors.
//
// interval: stdin is [{"fromMs", "toMs", "maxDataPoints", "minInterval"}]; minInterval is the
// lower limit Grafana's query runner passes (the panel's `interval`, else the datasource's
// `interval`, which SqlDatasource sets to jsonData.timeInterval || '1m'). Prints
// [{"intervalMs", "interval"}] in the same order.

import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const SCHEMA_PKG = path.join(here, 'node_modules/@grafana/schema');
const RAW = path.join(SCHEMA_PKG, 'dist/esm/raw');

// panel type -> the plugin's types (options; fieldConfig.defaults.custom)
const PANELS = {
  timeseries: 'composable/timeseries/panelcfg/x/TimeSeriesPanelCfg_types.gen.d.ts',
  stat: 'composable/stat/panelcfg/x/StatPanelCfg_types.gen.d.ts',
  table: 'composable/table/panelcfg/x/TablePanelCfg_types.gen.d.ts',
  barchart: 'composable/barchart/panelcfg/x/BarChartPanelCfg_types.gen.d.ts',
};

function generate(file, type) {
  const { createGenerator } = require('ts-json-schema-generator');
  const gen = createGenerator({
    path: path.join(RAW, file), type, skipTypeCheck: true, expose: 'export', topRef: true,
    additionalProperties: false,
  });
  return gen.createSchema(type);
}

function schemas() {
  const version = JSON.parse(fs.readFileSync(path.join(SCHEMA_PKG, 'package.json'))).version;
  const cache = path.join(here, 'node_modules/.cache', `ecgdash-grafana-schema-${version}.json`);
  if (fs.existsSync(cache)) return JSON.parse(fs.readFileSync(cache));
  const out = { version, dashboard: generate('dashboard/x/dashboard_types.gen.d.ts', 'Dashboard'),
                panels: {} };
  for (const [kind, file] of Object.entries(PANELS)) {
    out.panels[kind] = { options: generate(file, 'Options') };
    try {
      out.panels[kind].custom = generate(file, 'FieldConfig');
    } catch {
      // stat has no FieldConfig of its own
    }
  }
  fs.mkdirSync(path.dirname(cache), { recursive: true });
  fs.writeFileSync(cache, JSON.stringify(out));
  return out;
}

function validator() {
  const Ajv = require('ajv').default;
  const ajv = new Ajv({ allErrors: true, strict: false });
  const s = schemas();
  const dashboard = ajv.compile(s.dashboard);
  const panels = {};
  for (const [kind, p] of Object.entries(s.panels)) {
    panels[kind] = { options: ajv.compile(p.options), custom: p.custom && ajv.compile(p.custom) };
  }
  const fmt = (where, errs) => errs.map((e) => `${where}${e.instancePath} ${e.message}` +
    (e.params && e.params.additionalProperty ? ` (${e.params.additionalProperty})` : ''));
  return (doc) => {
    const errors = [];
    // AnnotationQuery.target is typed as the built-in Grafana datasource's query (limit, matchAny,
    // tags, type: the type carries "TODO: this should be a regular DataQuery"); a SQL datasource's
    // annotation query is its own query model (refId, rawSql, format), which Grafana's SQL
    // datasources read. Those targets are checked for that shape instead.
    doc = structuredClone(doc);
    for (const [i, a] of (doc.annotations?.list || []).entries()) {
      if (a.target && a.datasource?.type !== 'grafana' && a.datasource?.type !== 'dashboard') {
        const t = a.target;
        if (!t.refId || typeof t.rawSql !== 'string' || t.format !== 'table') {
          errors.push(`dashboard/annotations/list/${i}/target needs refId, rawSql and format "table"`);
        }
        a.target = { limit: 100, matchAny: false, tags: [], type: 'dashboard' };
      }
    }
    if (!dashboard(doc)) errors.push(...fmt('dashboard', dashboard.errors));
    for (const panel of doc.panels || []) {
      if (panel.type === 'row') continue;
      const where = `panel ${panel.id} "${panel.title}"`;
      const v = panels[panel.type];
      if (!v) {
        errors.push(`${where}: panel type ${panel.type} has no schema here`);
        continue;
      }
      if (!v.options(panel.options || {})) errors.push(...fmt(`${where} options`, v.options.errors));
      const custom = panel.fieldConfig?.defaults?.custom;
      if (v.custom && custom && !v.custom(custom)) {
        errors.push(...fmt(`${where} fieldConfig.defaults.custom`, v.custom.errors));
      }
    }
    return errors;
  };
}

function intervals(cases) {
  globalThis.window = globalThis.window || {}; // @grafana/data reads window.grafanaBootData on load
  const { rangeUtil, dateTime } = require('@grafana/data');
  return cases.map((c) => {
    const from = dateTime(c.fromMs);
    const to = dateTime(c.toMs);
    const r = rangeUtil.calculateInterval({ from, to, raw: { from, to } }, c.maxDataPoints,
                                          c.minInterval || undefined);
    return { intervalMs: r.intervalMs, interval: r.interval };
  });
}

const [cmd, ...args] = process.argv.slice(2);
if (cmd === 'schema') {
  const check = validator();
  const out = {};
  let bad = 0;
  for (const file of args) {
    out[file] = check(JSON.parse(fs.readFileSync(file, 'utf8')));
    bad += out[file].length;
  }
  process.stdout.write(JSON.stringify(out, null, 1) + '\n');
  process.exit(bad ? 1 : 0);
} else if (cmd === 'interval') {
  const cases = JSON.parse(fs.readFileSync(0, 'utf8'));
  process.stdout.write(JSON.stringify(intervals(cases)) + '\n');
} else {
  process.stderr.write('usage: node check.mjs schema FILE.json... | interval < cases.json\n');
  process.exit(2);
}
