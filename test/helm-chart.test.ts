// Checks of the deployment files: the Helm chart (deploy/helm/ges), the Dockerfile and .dockerignore.
// With `helm` on PATH the chart is also linted and rendered, and the rendered objects are checked;
// without it (the usual case on a developer's machine and in CI) the checks read the chart's files:
// every `.Values` path a template uses exists in values.yaml, the values and templates hold what the
// deployment needs, every setting the pods get is a real GES setting, and every metric the alerts
// and the dashboard use is one GES exposes (or a standard Prometheus / kube-state-metrics series).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import { ConfigSchema } from '../src/config/config.ts';
import { createMetrics } from '../src/metrics/metrics.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CHART = join(ROOT, 'deploy', 'helm', 'ges');
const readChart = (path: string) => readFileSync(join(CHART, path), 'utf8');

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Obj = { [key: string]: Json };

const chart = parse(readChart('Chart.yaml')) as Obj;
const values = parse(readChart('values.yaml')) as Obj;
const templates = new Map(
  readdirSync(join(CHART, 'templates'))
    .sort()
    .map((name) => [name, readChart(join('templates', name))]),
);
const template = (name: string): string => {
  const text = templates.get(name);
  assert.ok(text !== undefined, `templates/${name} is missing`);
  return text;
};
const dashboard = JSON.parse(readChart('dashboards/ges-overview.json')) as Obj;

/** GES's settings: the names of ConfigSchema (src/config/config.ts). */
const SETTINGS = new Set(Object.keys(ConfigSchema.properties));

/**
 * The metrics GES serves on INTERNAL_PORT /metrics, read from its own registry (src/metrics/
 * metrics.ts, with prom-client's runtime metrics); a histogram's series add _bucket, _sum and _count.
 * Besides these, the alerts and the dashboard may use only Prometheus's own `up`.
 */
const GES_METRICS = new Map((await createMetrics({ defaultMetrics: true }).registry.getMetricsAsJSON()).map((m) => [m.name, String(m.type)]));
const OTHER_METRICS = new Set(['up']);

/** The value at a dotted path of values.yaml, or undefined when a step is missing. */
function valueAt(path: string): Json | undefined {
  let node: Json | undefined = values;
  for (const key of path.split('.')) {
    if (node === null || typeof node !== 'object' || Array.isArray(node) || !(key in node)) return undefined;
    node = node[key];
  }
  return node;
}

function obj(value: Json | undefined, what: string): Obj {
  assert.ok(value !== null && typeof value === 'object' && !Array.isArray(value), `${what} is not a mapping`);
  return value;
}

/** A scalar as text, the way a template renders it; a mapping or list as its JSON, for a readable failure. */
function text(value: Json | undefined): string {
  return typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value);
}

const PROMQL_KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'bool', 'offset']);

/**
 * The metric names a PromQL expression reads. Helm actions, Grafana variables, strings, label
 * matchers, ranges and grouping clauses are removed first; what is left that is not a function call
 * or a keyword is a metric name.
 */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/\{\{[\s\S]*?\}\}/g, '') // Helm actions
    .replace(/\$\{?\w+\}?/g, '') // Grafana variables
    .replace(/"(?:[^"\\]|\\.)*"/g, '""') // strings
    .replace(/\{[^{}]*\}/g, '') // label matchers
    .replace(/\[[^\]]*\]/g, '') // range selectors
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '') // label lists
    .replace(/\blabel_values\(\s*([^,()]+?)\s*,[^)]*\)/g, '$1'); // Grafana: label_values(metric, label)
  const names: string[] = [];
  for (const m of bare.matchAll(/(?<![\w.])[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const after = bare.slice(m.index + m[0].length);
    if (/^\s*\(/.test(after) || PROMQL_KEYWORDS.has(m[0].toLowerCase())) continue;
    names.push(m[0]);
  }
  return names;
}

function isAllowedMetric(name: string): boolean {
  if (OTHER_METRICS.has(name) || (GES_METRICS.has(name) && GES_METRICS.get(name) !== 'histogram')) return true;
  const base = name.replace(/_(?:bucket|sum|count)$/, '');
  return base !== name && GES_METRICS.get(base) === 'histogram';
}

function assertKnownMetrics(exprs: string[], where: string): Set<string> {
  const used = new Set<string>();
  for (const expr of exprs) {
    const names = metricNames(expr);
    assert.ok(names.length > 0, `${where}: no metric found in ${expr}`);
    for (const name of names) {
      assert.ok(isAllowedMetric(name), `${where}: ${name} (in ${expr}) is neither a GES metric nor an allowed standard one`);
      used.add(name);
    }
  }
  return used;
}

interface Alert {
  alert: string;
  expr: string;
  for?: string;
}

/** The alerts of the PrometheusRule template, read line by line (each expr on one line). */
function alertsOfTemplate(text: string): Alert[] {
  const alerts: Partial<Alert>[] = [];
  for (const line of text.split('\n')) {
    const alert = /^\s*- alert:\s*(\S+)\s*$/.exec(line);
    if (alert) {
      alerts.push({ alert: alert[1]! });
      continue;
    }
    const current = alerts.at(-1);
    const expr = /^\s*expr:\s*(.*)$/.exec(line);
    if (expr && current) {
      assert.ok(!/^[|>]/.test(expr[1]!), `${current.alert}: write expr on one line`);
      current.expr = expr[1]!;
    }
    const hold = /^\s*for:\s*(\S+)\s*$/.exec(line);
    if (hold && current) current.for = hold[1]!;
  }
  return alerts.map((a) => {
    assert.ok(a.alert && a.expr, `${a.alert} has no expr`);
    return { alert: a.alert, expr: a.expr, ...(a.for ? { for: a.for } : {}) };
  });
}

/** Every expr of the dashboard: panel targets and query variables. */
function dashboardExprs(dash: Obj): string[] {
  const exprs: string[] = [];
  for (const panel of (dash.panels ?? []) as Obj[]) {
    for (const target of (panel.targets ?? []) as Obj[]) exprs.push(text(target.expr));
  }
  for (const variable of (obj(dash.templating ?? {}, 'templating').list ?? []) as Obj[]) {
    if (variable.type !== 'query') continue;
    const query = variable.query;
    exprs.push(typeof query === 'string' ? query : text(obj(query, 'variable query').query));
  }
  return exprs;
}

/** The Engagement API paths the ingresses must forward: those of the GES deployment, and our extensions. */
const GES_INGRESS_PATHS = [
  '/ges/',
  '/engagement/v3/callbacks/create',
  '/engagement/v3/callbacks/cancel',
  '/engagement/v3/callbacks/retrieve',
  '/engagement/v3/callbacks/availability/',
  '/engagement/v3/callbacks/queue-status/',
  '/engagement/v3/callbacks/open-for/',
  '/engagement/v3/estimated-wait-time',
  '/engagement/v3/call-in/requests/create',
  '/engagement/v3/statistics/operations/get-statistic-ex',
];
const EXTENSION_PATHS = [
  '/engagement/v3/callbacks/reschedule',
  '/engagement/v3/callbacks/find',
  '/engagement/v3/callbacks/history',
  // Served for Genesys' client 9.0.18-19 (CaptchaApi), not in the original's ingress list.
  '/engagement/v3/captcha/verify',
];

test('the metric extractor finds metrics and skips functions, labels and variables', () => {
  assert.deepEqual(metricNames('(sum(up{{ $job }}) or vector(0)) < {{ $rule.minPodsUp }}'), ['up']);
  assert.deepEqual(metricNames('histogram_quantile(0.99, sum by (le) (rate(ges_http_request_duration_seconds_bucket{job=~"$job"}[$__rate_interval])))'), [
    'ges_http_request_duration_seconds_bucket',
  ]);
  assert.deepEqual(metricNames('label_values(ges_http_requests_total{namespace="$namespace"}, job)'), ['ges_http_requests_total']);
  assert.deepEqual(metricNames('sum(rate(a_total{code=~"5.."}[5m])) / sum(rate(b_total[5m])) > 0.05'), ['a_total', 'b_total']);
  assert.ok(!isAllowedMetric('process_cpu_seconds_total'));
  assert.ok(!isAllowedMetric('ges_http_requests_total_sum'));
  assert.ok(!isAllowedMetric('ges_http_request_duration_seconds'), 'a histogram is read through its series');
  assert.ok(isAllowedMetric('ges_http_request_duration_seconds_count'));
  assert.ok(!isAllowedMetric('kube_pod_status_ready'));
});

test('GES serves the metrics the chart is built on, with the names of the original', () => {
  for (const name of [
    'ges_http_requests_total',
    'ges_http_failed_requests_total',
    'ges_callbacks_created',
    'ges_database_up',
    'ges_migrations_pending',
    'ges_process_start_time_seconds',
  ]) {
    assert.ok(GES_METRICS.has(name), name);
  }
  assert.equal(GES_METRICS.get('ges_http_request_duration_seconds'), 'histogram');
  // Ours carry the ges_ prefix; the upper-case gauges and alert-type counters keep the original's names for its dashboards and alerts.
  for (const name of GES_METRICS.keys())
    assert.match(name, /^ges_|^(GES_HEALTH|REDIS_CONNECTION|CB_TTL_LIMIT_REACHED|CB_ENQUEUE_LIMIT_REACHED|INVALID_CONTENT_LENGTH|UNCAUGHT_EXCEPTION)$/);
});

test('Chart.yaml: a v2 application chart whose appVersion is the GES version', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  assert.equal(chart.apiVersion, 'v2');
  assert.equal(chart.name, 'ges');
  assert.equal(chart.type, 'application');
  assert.match(text(chart.version), /^\d+\.\d+\.\d+/);
  assert.equal(chart.appVersion, pkg.version, 'appVersion (the default image tag) follows package.json');
});

test('every .Values path a template uses exists in values.yaml', () => {
  let count = 0;
  for (const [name, text] of templates) {
    for (const m of text.matchAll(/\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g)) {
      const path = m[1]!.slice(1);
      assert.notEqual(valueAt(path), undefined, `templates/${name} uses .Values.${path}, which values.yaml does not define`);
      count++;
    }
  }
  assert.ok(count > 50, `only ${count} .Values references found: the scan is broken`);
  // Reached through `index $.Values.ingress $which` in ingress.yaml:
  for (const which of ['external', 'internal']) {
    for (const key of ['enabled', 'className', 'annotations', 'hosts', 'tls']) {
      assert.notEqual(valueAt(`ingress.${which}.${key}`), undefined, `ingress.${which}.${key}`);
    }
  }
});

test('values: sizing, autoscaling, disruption budget and ports of the original deployment', () => {
  assert.deepEqual(valueAt('resources'), { requests: { cpu: '500m', memory: '512Mi' }, limits: { cpu: '1250m', memory: '2Gi' } });
  assert.equal(valueAt('hpa.enabled'), true);
  assert.equal(valueAt('hpa.minReplicas'), 1);
  assert.equal(valueAt('hpa.maxReplicas'), 5);
  assert.equal(valueAt('hpa.targetCPUUtilizationPercentage'), 50);
  assert.deepEqual(valueAt('hpa.behavior'), {
    scaleDown: { stabilizationWindowSeconds: 60, podsPerPeriod: 1, periodSeconds: 30 },
    scaleUp: { podsPerPeriod: 1, periodSeconds: 30 },
  });
  assert.deepEqual(valueAt('podDisruptionBudget'), { enabled: true, minAvailable: 1 });
  assert.deepEqual(valueAt('service.ports'), { external: 3005, internal: 3050 });
  assert.equal(text(valueAt('config.env.PORT')), '3005');
  assert.equal(text(valueAt('config.env.INTERNAL_PORT')), '3050');

  const hpa = template('hpa.yaml');
  assert.match(hpa, /apiVersion: autoscaling\/v2\n/);
  assert.match(hpa, /averageUtilization: \{\{ \.Values\.hpa\.targetCPUUtilizationPercentage \}\}/);
  assert.match(hpa, /stabilizationWindowSeconds: \{\{ \.Values\.hpa\.behavior\.scaleDown\.stabilizationWindowSeconds \}\}/);
  assert.match(template('pdb.yaml'), /apiVersion: policy\/v1\n[\s\S]*minAvailable: \{\{ \.Values\.podDisruptionBudget\.minAvailable \}\}/);
  assert.match(template('deployment.yaml'), /\{\{- if not \.Values\.hpa\.enabled \}\}\n\s*replicas:/, 'replicas only without the HPA');
  const service = template('service.yaml');
  assert.match(service, /name: http\n\s*port: \{\{ \.Values\.service\.ports\.external \}\}\n\s*targetPort: http/);
  assert.match(service, /name: internal\n\s*port: \{\{ \.Values\.service\.ports\.internal \}\}\n\s*targetPort: internal/);
});

test('deployment: probes on the internal port, settings from the ConfigMap, the Secret as files', () => {
  const deployment = template('deployment.yaml');
  assert.match(deployment, /livenessProbe:\n\s*httpGet:\n\s*path: \/health\/live\n\s*port: internal\n/);
  assert.match(deployment, /readinessProbe:\n\s*httpGet:\n\s*path: \/health\/ready\n\s*port: internal\n/);
  assert.match(deployment, /containerPort: \{\{ \.Values\.config\.env\.INTERNAL_PORT \| default 3050 \}\}/);
  assert.match(deployment, /containerPort: \{\{ \.Values\.config\.env\.PORT \| default 3005 \}\}/);
  assert.match(deployment, /envFrom:\n\s*- configMapRef:\n\s*name: \{\{ include "ges\.fullname" \. \}\}-config\n/);
  assert.match(template('configmap.yaml'), /name: \{\{ include "ges\.fullname" \. \}\}-config\n/);
  assert.match(deployment, /\{\{- include "ges\.secretVolume" \. \| nindent 8 \}\}/);
  assert.match(deployment, /\{\{- include "ges\.secretVolumeMount" \. \| nindent 12 \}\}/);
  assert.match(deployment, /args: \["node", "bin\/ges\.mjs", "start"\]/);

  const helpers = template('_helpers.tpl');
  assert.match(helpers, /secretName: \{\{ include "ges\.secretName" \. \}\}/);
  assert.match(helpers, /required "secrets\.existingSecret/, 'the Secret must be named');
  assert.match(helpers, /set \$settings "SECRETS_DIRS" \.Values\.secrets\.mountPath/, 'SECRETS_DIRS points at the mounted Secret');
  assert.match(helpers, /has \$name \$\.Values\.secrets\.keys[\s\S]*?fail/, 'a secret setting under config.env is refused');
  assert.equal(obj(valueAt('podSecurityContext'), 'podSecurityContext').runAsNonRoot, true);
  assert.equal(obj(valueAt('securityContext'), 'securityContext').readOnlyRootFilesystem, true);
});

test('settings: every name the pods and the migration Job get is a GES setting; secrets stay in the Secret', () => {
  const env = obj(valueAt('config.env'), 'config.env');
  const names = new Set(Object.keys(env));
  for (const text of templates.values()) {
    for (const m of text.matchAll(/set \$settings "([A-Z][A-Z0-9_]*)"/g)) names.add(m[1]!);
    for (const m of text.matchAll(/^\s*- name: ([A-Z][A-Z0-9_]*)\s*$/gm)) names.add(m[1]!);
  }
  assert.ok(names.has('SECRETS_DIRS'));
  for (const name of names) assert.ok(SETTINGS.has(name), `${name} is not a GES setting (src/config/config.ts)`);

  assert.equal(text(env.MIGRATE_ON_START), 'false', 'the migration Job migrates, not the pods');
  assert.equal(text(env.DEMO_SEED), 'false');
  for (const name of ['PORT', 'INTERNAL_PORT', 'LOG_LEVEL', 'DATABASE_SCHEMA', 'API_KEY_CACHE_SEC', 'BODY_LIMIT_BYTES']) {
    assert.ok(name in env, `config.env.${name}`);
  }
  const secretKeys = valueAt('secrets.keys');
  assert.deepEqual(secretKeys, ['DATABASE_URL', 'ADMIN_TOKEN']);
  for (const key of secretKeys) {
    assert.ok(SETTINGS.has(String(key)), `${String(key)} is not a GES setting`);
    assert.ok(!(String(key) in env), `${String(key)} must come from the Secret, not config.env (an empty value would hide the file)`);
  }
  assert.equal(valueAt('secrets.existingSecret'), '', 'the chart never names (or creates) a Secret itself');
});

test('migration Job: a pre-install and pre-upgrade hook running ges migrate', () => {
  const job = template('migration-job.yaml');
  assert.match(job, /kind: Job\n/);
  assert.match(job, /"helm\.sh\/hook": pre-install,pre-upgrade\n/);
  assert.match(job, /"helm\.sh\/hook-delete-policy": before-hook-creation,hook-succeeded\n/);
  assert.match(job, /args: \["node", "bin\/ges\.mjs", "migrate"\]/);
  assert.match(job, /restartPolicy: Never/);
  // A pre-install hook runs before the ConfigMap exists: the Job gets the settings inline.
  assert.doesNotMatch(job, /configMapRef/);
  assert.match(job, /range \$name, \$value := fromYaml \(include "ges\.settings" \.\)/);
  assert.match(job, /\{\{- include "ges\.secretVolume" \. \| nindent 8 \}\}/);
  assert.equal(valueAt('migrations.enabled'), true);
});

test('ingress: only the Engagement API paths, and requests naming a contact center refused', () => {
  const paths = (valueAt('ingress.paths') as Obj[]).map((p) => text(p.path));
  assert.deepEqual([...paths].sort(), [...GES_INGRESS_PATHS, ...EXTENSION_PATHS].sort(), 'ingress.paths is limited to these');
  for (const p of valueAt('ingress.paths') as Obj[]) {
    assert.equal(p.pathType, text(p.path).endsWith('/') ? 'Prefix' : 'Exact', `${text(p.path)}: folders by Prefix, operations Exact`);
  }
  assert.equal(valueAt('ingress.refuseContactCenterHeaders'), true);
  assert.deepEqual(valueAt('ingress.external.hosts'), ['ges.example.com']);
  assert.deepEqual(valueAt('ingress.internal.hosts'), ['ges-int.example.com']);

  const helpers = template('_helpers.tpl');
  assert.ok(helpers.includes('"nginx.ingress.kubernetes.io/configuration-snippet"'));
  assert.ok(helpers.includes('if ($http_ccid != \\"\\") { return 400; }'), 'ccid refused');
  assert.ok(helpers.includes('if ($http_contactcenterid != \\"\\") { return 400; }'), 'ContactCenterID refused');
  assert.match(helpers, /if \.root\.Values\.ingress\.refuseContactCenterHeaders/);

  const ingress = template('ingress.yaml');
  assert.match(ingress, /range \$which := list "external" "internal"/);
  assert.match(ingress, /include "ges\.ingressAnnotations"/);
  assert.match(ingress, /range \$p := \$\.Values\.ingress\.paths/);
  assert.match(ingress, /port:\n\s*name: http\n/, 'the ingresses reach the external port only');
  assert.doesNotMatch(ingress, /name: internal/);
});

test('monitoring: ServiceMonitor, alerts and dashboard, on metrics GES exposes', () => {
  const sm = template('servicemonitor.yaml');
  assert.match(sm, /\{\{- if \.Values\.monitoring\.serviceMonitor\.enabled \}\}/);
  assert.match(sm, /apiVersion: monitoring\.coreos\.com\/v1\nkind: ServiceMonitor\n/);
  assert.match(sm, /- port: internal\n\s*path: \{\{ \.Values\.monitoring\.serviceMonitor\.path \}\}/);
  assert.equal(valueAt('monitoring.serviceMonitor.path'), '/metrics');

  const rule = template('prometheusrule.yaml');
  assert.match(rule, /\{\{- if \.Values\.monitoring\.prometheusRule\.enabled \}\}/);
  assert.match(rule, /apiVersion: monitoring\.coreos\.com\/v1\nkind: PrometheusRule\n/);
  const alerts = alertsOfTemplate(rule);
  const byName = new Map(alerts.map((a) => [a.alert, a]));
  for (const name of [
    'GES_UP',
    'GES_NOT_READY_WARNING',
    'GES_NOT_READY_CRITICAL',
    'GES_REDIS_DOWN',
    'GES_DISPATCH_LAGGING_BEHIND',
    'GES_HTTP_5XX',
    'GES_SLOW_HTTP_RESPONSE_TIME',
  ])
    assert.ok(byName.has(name), name);
  const up = byName.get('GES_UP')!;
  assert.deepEqual(metricNames(up.expr), ['up']);
  assert.match(up.expr, /< \{\{ \$rule\.minPodsUp \}\}$/);
  assert.equal(up.for, '15m');
  assert.equal(valueAt('monitoring.prometheusRule.minPodsUp'), 2);
  assert.match(byName.get('GES_HTTP_5XX')!.expr, /ges_http_failed_requests_total\{\{ \$job5xx \}\}/);
  assert.match(rule, /\$job5xx := printf "\{namespace=%q, job=%q, status=~\\"5\.\.\\"\}"/, '5xx by the status label');
  assert.deepEqual(
    metricNames(byName.get('GES_NOT_READY_WARNING')!.expr),
    ['ges_database_up', 'ges_migrations_pending'],
    'readiness: database and migrations (Redis is GES_REDIS_DOWN, not readiness)',
  );
  assert.deepEqual(new Set(metricNames(byName.get('GES_NOT_READY_CRITICAL')!.expr)), new Set(['ges_database_up', 'ges_migrations_pending']));
  assert.deepEqual(metricNames(byName.get('GES_REDIS_DOWN')!.expr), ['ges_redis_up']);
  assert.deepEqual(metricNames(byName.get('GES_DISPATCH_LAGGING_BEHIND')!.expr), ['ges_dispatch_lateness_seconds_bucket']);
  assert.equal(valueAt('monitoring.prometheusRule.dispatchLateSeconds'), 30);
  // docs/DEPLOYMENT.md's alert table names exactly the alerts of the template.
  const deployment = readFileSync(join(ROOT, 'docs', 'DEPLOYMENT.md'), 'utf8');
  const documented = [...deployment.matchAll(/^\s*\| `(GES_[A-Z0-9_]+)` \|/gm)].map((m) => m[1]!);
  assert.deepEqual(documented.sort(), alerts.map((a) => a.alert).sort(), 'every alert is documented in docs/DEPLOYMENT.md, and only those');
  const ruleMetrics = assertKnownMetrics(
    alerts.map((a) => a.expr),
    'PrometheusRule',
  );
  // The original chart's alerts: HTTP 4xx/5xx per pod and per tenant on its labels, CPU, memory,
  // event-loop delay, uncaught exceptions, invalid content length and the CB_* limits, each on a
  // metric GES serves.
  const original: Record<string, string[]> = {
    GES_CPU_USAGE: ['ges_process_cpu_seconds_total'],
    GES_MEMORY_USAGE: ['ges_process_resident_memory_bytes'],
    GES_NODE_JS_DELAY_WARNING: ['ges_nodejs_eventloop_lag_p99_seconds'],
    GES_UNCAUGHT_EXCEPTION: ['UNCAUGHT_EXCEPTION'],
    GES_INVALID_CONTENT_LENGTH: ['INVALID_CONTENT_LENGTH'],
    GES_CB_TTL_LIMIT_REACHED: ['CB_TTL_LIMIT_REACHED'],
    GES_CB_ENQUEUE_LIMIT_REACHED: ['CB_ENQUEUE_LIMIT_REACHED'],
  };
  for (const code of ['400', '401', '404', '500']) {
    for (const scope of ['POD', 'TENANT']) {
      const alert = byName.get(`GES_HTTP_${code}_${scope}`);
      assert.ok(alert, `GES_HTTP_${code}_${scope}`);
      assert.deepEqual(metricNames(alert.expr), ['ges_http_failed_requests_total']);
      assert.ok(alert.expr.includes(`httpCode="${code}"`), alert.expr);
      assert.match(alert.expr, scope === 'POD' ? /sum by \(pod\)/ : /sum by \(exported_tenant\)/);
      assert.ok(alert.expr.includes(`$tol.http${code} }}`), alert.expr);
      assert.equal(typeof valueAt(`monitoring.prometheusRule.httpTolerance.http${code}`), 'number');
    }
  }
  for (const [name, metrics] of Object.entries(original)) {
    assert.ok(byName.has(name), name);
    assert.deepEqual(metricNames(byName.get(name)!.expr), metrics, name);
  }
  for (const key of ['cpuUsage', 'memoryBytes', 'eventLoopDelaySeconds', 'invalidContentLengthTolerance']) {
    assert.equal(typeof valueAt(`monitoring.prometheusRule.${key}`), 'number', key);
  }
  // The labels those alerts group by exist on the metrics they read.
  const failedLabels = (
    createMetrics({ defaultMetrics: false }).registry.getSingleMetric('ges_http_failed_requests_total') as unknown as { labelNames: string[] }
  ).labelNames;
  for (const label of ['httpCode', 'path', 'exported_tenant']) assert.ok(failedLabels.includes(label), label);
  assert.match(sm, /metricRelabelings:\n\s*- sourceLabels: \[tenant\]\n\s*regex: \(\.\+\)\n\s*targetLabel: exported_tenant/);
  assert.equal(valueAt('monitoring.serviceMonitor.originalTenantLabel'), true);
  for (const name of ['up', 'ges_http_requests_total', 'ges_http_failed_requests_total']) assert.ok(ruleMetrics.has(name), name);

  const cm = template('dashboard-configmap.yaml');
  assert.match(cm, /\{\{- if \.Values\.monitoring\.grafanaDashboard\.enabled \}\}/);
  assert.match(cm, /\.Files\.Get "dashboards\/ges-overview\.json"/);
  const dashMetrics = assertKnownMetrics(dashboardExprs(dashboard), 'dashboard');
  for (const name of ['ges_http_requests_total', 'ges_http_failed_requests_total', 'ges_http_request_duration_seconds_bucket', 'ges_callbacks_created']) {
    assert.ok(dashMetrics.has(name), `the dashboard shows ${name}`);
  }
  assert.match(JSON.stringify(dashboard), /histogram_quantile\(0\.99,/, 'latency p99');
  // Optional parts are off unless asked for: they need the Prometheus Operator CRDs / a Grafana sidecar.
  for (const part of ['serviceMonitor', 'prometheusRule', 'grafanaDashboard']) assert.equal(valueAt(`monitoring.${part}.enabled`), false, part);
});

test('Dockerfile: two stages on Node 24, production dependencies only, non-root, ges start', () => {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const lines = dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const image = /^ARG NODE_IMAGE=(\S+)$/m.exec(lines.join('\n'))?.[1];
  assert.match(image ?? '', /^node:24[-.]/, 'the official Node 24 image');
  const stages: string[][] = [];
  for (const line of lines) {
    if (/^FROM /i.test(line)) stages.push([]);
    stages.at(-1)?.push(line);
  }
  assert.equal(stages.length, 2, 'a build stage and a runtime stage');
  const [build, runtime] = stages as [string[], string[]];
  assert.match(build[0]!, /^FROM \$\{NODE_IMAGE\} AS build$/);
  assert.ok(
    build.some((l) => /^RUN npm ci\b/.test(l) && !l.includes('--omit=dev')),
    'build: npm ci with dev dependencies',
  );
  assert.ok(
    build.some((l) => /^RUN npm run build\b/.test(l)),
    'build: npm run build',
  );
  assert.ok(
    runtime.some((l) => /^RUN npm ci --omit=dev\b/.test(l)),
    'runtime: production dependencies only',
  );
  assert.ok(runtime.includes('COPY --from=build /app/dist ./dist'));
  for (const folder of ['migrations', 'assets', 'bin']) assert.ok(runtime.includes(`COPY ${folder} ./${folder}`), folder);
  assert.ok(!runtime.some((l) => /^COPY (src|test|bench)\b/.test(l)), 'no sources in the runtime image');
  const users = runtime.filter((l) => /^USER /.test(l));
  assert.ok(users.length > 0 && !/^USER (root|0)(:|$)/.test(users.at(-1)!), 'runs as a non-root user');
  assert.ok(runtime.includes('EXPOSE 3005 3050'));
  assert.match(runtime.find((l) => l.startsWith('HEALTHCHECK')) ?? '', /\/health\/live/);
  assert.equal(runtime.at(-1), 'CMD ["node", "bin/ges.mjs", "start"]');

  const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim());
  for (const entry of ['node_modules', 'data', 'dist', '.git', 'scratch', 'test', 'bench']) assert.ok(ignored.includes(entry), `.dockerignore: ${entry}`);
});

const helm = spawnSync('helm', ['version', '--short'], { encoding: 'utf8' });
const HELM = helm.status === 0;

// With helm on the PATH the chart is also linted and rendered; without it (as on CI here, where
// Debian has no helm package) the tests above read the chart files themselves, as the issue asks.
if (HELM)
  test('helm lint and helm template render every object', () => {
    const run = (args: string[]) => spawnSync('helm', args, { cwd: ROOT, encoding: 'utf8' });
    const all = [
      '--set',
      'secrets.existingSecret=ges-secrets',
      '--set',
      'monitoring.serviceMonitor.enabled=true',
      '--set',
      'monitoring.prometheusRule.enabled=true',
      '--set',
      'monitoring.grafanaDashboard.enabled=true',
      '--set',
      'ingress.internal.enabled=true',
    ];
    const lint = run(['lint', CHART, ...all]);
    assert.equal(lint.status, 0, lint.stdout + lint.stderr);
    const missingSecret = run(['template', 'ges', CHART]);
    assert.notEqual(missingSecret.status, 0, 'rendering without secrets.existingSecret fails');
    assert.match(missingSecret.stderr, /secrets\.existingSecret/);
    const misplaced = run(['template', 'ges', CHART, ...all, '--set', 'config.env.DATABASE_URL=postgres://x']);
    assert.notEqual(misplaced.status, 0, 'DATABASE_URL under config.env is refused');

    const rendered = run(['template', 'ges', CHART, '--namespace', 'callbacks', ...all]);
    assert.equal(rendered.status, 0, rendered.stderr);
    const docs = parseAllDocuments(rendered.stdout)
      .map((d) => {
        assert.deepEqual(d.errors, []);
        return d.toJS() as Obj | null;
      })
      .filter((d): d is Obj => d !== null);
    const kinds = docs.map((d) => `${text(d.kind)}/${text(obj(d.metadata, 'metadata').name)}`).sort();
    assert.deepEqual(kinds, [
      'ConfigMap/ges-config',
      'ConfigMap/ges-dashboard',
      'Deployment/ges',
      'HorizontalPodAutoscaler/ges',
      'Ingress/ges-external',
      'Ingress/ges-internal',
      'Job/ges-migrate',
      'PodDisruptionBudget/ges',
      'PrometheusRule/ges-rules',
      'Service/ges',
      'ServiceMonitor/ges',
    ]);
    const find = (kind: string, name: string) => docs.find((d) => d.kind === kind && obj(d.metadata, 'metadata').name === name)!;

    const config = obj(find('ConfigMap', 'ges-config').data, 'ConfigMap data');
    for (const name of Object.keys(config)) assert.ok(SETTINGS.has(name), `${name} is not a GES setting`);
    assert.equal(config.MIGRATE_ON_START, 'false');

    const deployment = find('Deployment', 'ges') as { spec: { replicas?: number; template: { spec: { containers: Obj[]; volumes: Obj[] } } } };
    assert.equal(deployment.spec.replicas, undefined, 'the HPA owns the replica count');
    const container = deployment.spec.template.spec.containers[0]!;
    assert.deepEqual(obj(container.livenessProbe, 'liveness').httpGet, { path: '/health/live', port: 'internal' });
    assert.deepEqual(obj(container.readinessProbe, 'readiness').httpGet, { path: '/health/ready', port: 'internal' });
    assert.deepEqual(container.ports, [
      { name: 'http', containerPort: 3005, protocol: 'TCP' },
      { name: 'internal', containerPort: 3050, protocol: 'TCP' },
    ]);
    assert.ok(deployment.spec.template.spec.volumes.some((v) => obj(v.secret ?? {}, 'secret').secretName === 'ges-secrets'));

    const hpa = obj(find('HorizontalPodAutoscaler', 'ges').spec, 'hpa spec');
    assert.equal(hpa.minReplicas, 1);
    assert.equal(hpa.maxReplicas, 5);

    const job = find('Job', 'ges-migrate');
    assert.equal(obj(obj(job.metadata, 'metadata').annotations, 'annotations')['helm.sh/hook'], 'pre-install,pre-upgrade');

    for (const name of ['ges-external', 'ges-internal']) {
      const ingress = find('Ingress', name);
      const snippet = text(obj(obj(ingress.metadata, 'metadata').annotations, 'annotations')['nginx.ingress.kubernetes.io/configuration-snippet']);
      assert.match(snippet, /if \(\$http_ccid != ""\) \{ return 400; \}/);
      assert.match(snippet, /if \(\$http_contactcenterid != ""\) \{ return 400; \}/);
      const rules = obj(ingress.spec, 'spec').rules as Obj[];
      const paths = (obj(rules[0]!.http, 'http').paths as Obj[]).map((p) => p.path);
      assert.deepEqual(
        paths,
        (valueAt('ingress.paths') as Obj[]).map((p) => p.path),
      );
    }

    const groups = obj(find('PrometheusRule', 'ges-rules').spec, 'spec').groups as Obj[];
    const exprs = groups.flatMap((g) => (g.rules as Obj[]).map((r) => text(r.expr)));
    assertKnownMetrics(exprs, 'rendered PrometheusRule');
    const dash = JSON.parse(text(obj(find('ConfigMap', 'ges-dashboard').data, 'data')['ges-overview.json'])) as Obj;
    assertKnownMetrics(dashboardExprs(dash), 'rendered dashboard');
  });
