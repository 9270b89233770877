#!/usr/bin/env python3
"""Builds the Grafana dashboards in dashboards/ from the definitions below.

The JSON files are generated: edit this file, then run

    python3 infra/observability/grafana/build_dashboards.py          # write them
    python3 infra/observability/grafana/build_dashboards.py --check  # fail if stale

(infra/checks/observability.sh runs --check and checks every query with promtool.)
A dashboard changed in Grafana's UI can be exported and its queries copied here.

Queries use Grafana's `$__rate_interval` and the dashboard variables `$datasource`
and `$definition` / `$consumer` / `$provider` (multi-value, "All" = `.*`).
Histograms are read through their `_bucket` series (`histogram_quantile`); the
exporter must be configured with buckets for them (see the check script).
"""

import json
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
OUT = HERE / "dashboards"
DS = {"type": "prometheus", "uid": "${datasource}"}
RI = "$__rate_interval"


# --- building blocks --------------------------------------------------------------

def target(expr, legend="", ref="A"):
    return {"refId": ref, "datasource": DS, "expr": expr, "legendFormat": legend,
            "range": True}


def timeseries(title, targets, unit="short", description="", thresholds=None,
               stack=False, w=12, h=8):
    steps = [{"color": "green", "value": None}]
    for value, color in thresholds or []:
        steps.append({"color": color, "value": value})
    custom = {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 10,
              "showPoints": "never", "spanNulls": False,
              "stacking": {"mode": "normal" if stack else "none", "group": "A"},
              "thresholdsStyle": {"mode": "line" if thresholds else "off"}}
    return {"type": "timeseries", "title": title, "description": description,
            "datasource": DS, "targets": _refs(targets), "_size": (w, h),
            "fieldConfig": {"defaults": {"unit": unit, "custom": custom,
                                         "thresholds": {"mode": "absolute", "steps": steps}},
                            "overrides": []},
            "options": {"legend": {"displayMode": "table", "placement": "bottom",
                                   "calcs": ["lastNotNull", "max"], "showLegend": True},
                        "tooltip": {"mode": "multi", "sort": "desc"}}}


def stat(title, expr, unit="short", description="", thresholds=None, w=6, h=4,
         legend=""):
    steps = [{"color": "green", "value": None}]
    for value, color in thresholds or []:
        steps.append({"color": color, "value": value})
    return {"type": "stat", "title": title, "description": description,
            "datasource": DS, "targets": _refs([target(expr, legend)]), "_size": (w, h),
            "fieldConfig": {"defaults": {"unit": unit,
                                         "thresholds": {"mode": "absolute", "steps": steps}},
                            "overrides": []},
            "options": {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "",
                                          "values": False},
                        "colorMode": "background", "graphMode": "area",
                        "textMode": "auto", "justifyMode": "auto",
                        "orientation": "auto"}}


def row(title):
    return {"type": "row", "title": title, "collapsed": False, "panels": [],
            "_size": (24, 1)}


def _refs(targets):
    for i, t in enumerate(targets):
        t["refId"] = chr(ord("A") + i)
    return targets


def query_var(name, label, metric, label_name):
    query = f"label_values({metric}, {label_name})"
    return {"name": name, "label": label, "type": "query", "datasource": DS,
            "query": {"query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery"},
            "definition": query, "includeAll": True, "multi": True, "allValue": ".*",
            "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
            "refresh": 2, "sort": 1, "hide": 0, "options": []}


def dashboard(uid, title, description, panels, variables=()):
    laid_out, x, y, row_h, pid = [], 0, 0, 0, 1
    for panel in panels:
        w, h = panel.pop("_size")
        if panel["type"] == "row" or x + w > 24:
            x, y, row_h = 0, y + row_h, 0
        panel["gridPos"] = {"h": h, "w": w, "x": x, "y": y}
        panel["id"] = pid
        pid += 1
        laid_out.append(panel)
        if panel["type"] == "row":
            y += 1
        else:
            x, row_h = x + w, max(row_h, h)
    templating = [{"name": "datasource", "label": "Data source", "type": "datasource",
                   "query": "prometheus", "current": {}, "hide": 0, "refresh": 1,
                   "regex": "", "options": []}]
    templating += list(variables)
    return {
        "uid": uid, "title": title, "description": description,
        "tags": ["sagaflow"], "editable": True, "graphTooltip": 1,
        "schemaVersion": 39, "version": 1, "refresh": "30s", "timezone": "",
        "time": {"from": "now-1h", "to": "now"}, "timepicker": {},
        "annotations": {"list": [{
            "builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"},
            "enable": True, "hide": True, "iconColor": "rgba(0, 211, 255, 1)",
            "name": "Annotations & Alerts", "type": "dashboard"}]},
        "links": [{"type": "dashboards", "tags": ["sagaflow"], "asDropdown": True,
                   "title": "Sagaflow", "includeVars": False, "keepTime": True}],
        "templating": {"list": templating},
        "panels": laid_out,
    }


def quantiles(metric, by, selector, legend_prefix, qs=(0.5, 0.95, 0.99)):
    return [target(
        f"histogram_quantile({q}, sum by (le{', ' + by if by else ''}) "
        f"(rate({metric}_bucket{selector}[{RI}])))",
        f"{legend_prefix}p{int(q * 100)}") for q in qs]


# --- the dashboards ---------------------------------------------------------------

def sagas():
    d = '{definition=~"$definition"}'
    return dashboard(
        "sagaflow-sagas", "Sagaflow / Sagas overview",
        "Saga throughput, outcomes, durations and steps, and the participants' results.",
        [
            row("Outcomes"),
            stat("Finished sagas/s",
                 f"sum(rate(sagaflow_sagas_finished_total{d}[{RI}]))", "ops"),
            stat("Completed share",
                 f'sum(rate(sagaflow_sagas_finished_total{{definition=~"$definition",outcome="completed"}}[{RI}]))'
                 f" / sum(rate(sagaflow_sagas_finished_total{d}[{RI}]))",
                 "percentunit", thresholds=[]),
            stat("Stuck sagas", "sum(sagaflow_saga_stuck)", "short",
                 "Running sagas past their deadline (alert SagaflowSagaStuck).",
                 thresholds=[(1, "red")]),
            stat("Compensations/s",
                 f"sum(rate(sagaflow_saga_compensations_total{d}[{RI}]))", "ops",
                 thresholds=[(0.01, "orange")]),
            timeseries("Finished sagas/s by outcome",
                       [target(f"sum by (definition, outcome) (rate(sagaflow_sagas_finished_total{d}[{RI}]))",
                               "{{definition}} {{outcome}}")], "ops", stack=True),
            timeseries("Compensations/s",
                       [target(f"sum by (definition) (rate(sagaflow_saga_compensations_total{d}[{RI}]))",
                               "{{definition}}")], "ops"),
            row("Durations"),
            timeseries("Saga duration (start to end)",
                       quantiles("sagaflow_saga_duration_seconds", "definition", d,
                                 "{{definition}} "), "s"),
            timeseries("Saga duration p99 by outcome",
                       [target(f"histogram_quantile(0.99, sum by (le, definition, outcome) "
                               f"(rate(sagaflow_saga_duration_seconds_bucket{d}[{RI}])))",
                               "{{definition}} {{outcome}}")], "s"),
            timeseries("Step duration p99",
                       [target(f"histogram_quantile(0.99, sum by (le, definition, step) "
                               f"(rate(sagaflow_saga_step_seconds_bucket{d}[{RI}])))",
                               "{{definition}}/{{step}}")], "s",
                       "From the step's command to its reply, per step."),
            timeseries("Steps/s by outcome",
                       [target(f"sum by (definition, step, outcome) "
                               f"(rate(sagaflow_saga_step_seconds_count{d}[{RI}]))",
                               "{{definition}}/{{step}} {{outcome}}")], "ops"),
            row("Participants"),
            timeseries("Inventory",
                       [target(f"sum by (outcome) (rate(sagaflow_inventory_reservations_total[{RI}]))",
                               "reservations {{outcome}}"),
                        target(f"sum by (outcome) (rate(sagaflow_inventory_releases_total[{RI}]))",
                               "releases {{outcome}}")], "ops", w=8),
            timeseries("Payments",
                       [target(f"sum by (outcome) (rate(sagaflow_payments_total[{RI}]))",
                               "payments {{outcome}}"),
                        target(f"sum by (outcome) (rate(sagaflow_refunds_total[{RI}]))",
                               "refunds {{outcome}}")], "ops", w=8),
            timeseries("Pricing, orders, notifications",
                       [target(f"sum by (outcome) (rate(sagaflow_pricing_quotes_total[{RI}]))",
                               "quotes {{outcome}}"),
                        target(f"sum by (outcome) (rate(sagaflow_orders_total[{RI}]))",
                               "orders {{outcome}}"),
                        target(f"sum by (channel) (rate(sagaflow_notifications_total[{RI}]))",
                               "notifications {{channel}}")], "ops", w=8),
        ],
        [query_var("definition", "Saga", "sagaflow_sagas_finished_total", "definition")],
    )


def messaging():
    c = '{consumer=~"$consumer"}'
    return dashboard(
        "sagaflow-messaging", "Sagaflow / Messaging (Kafka, outbox, inbox)",
        "Outbox relays, inbox consumers, consumer lag and dead letters.",
        [
            row("Outbox relay"),
            stat("Published/s", f"sum(rate(sagaflow_outbox_published_total[{RI}]))", "ops"),
            stat("Outbox backlog", "sum(sagaflow_outbox_backlog)", "short",
                 "Rows waiting to be published (alert SagaflowOutboxBacklogGrowing).",
                 thresholds=[(1000, "red")]),
            stat("Publish failures (1h)",
                 "sum(increase(sagaflow_outbox_publish_failures_total[1h]))", "short",
                 thresholds=[(1, "red")]),
            stat("Dead letters (1h)",
                 "sum(increase(sagaflow_dead_letters_total[1h]))", "short",
                 thresholds=[(1, "red")]),
            timeseries("Published messages/s",
                       [target(f"sum(rate(sagaflow_outbox_published_total[{RI}]))", "published"),
                        target(f"sum(rate(sagaflow_outbox_publish_failures_total[{RI}]))",
                               "failed batches")], "ops"),
            timeseries("Publish latency (one batch, to broker ack)",
                       quantiles("sagaflow_outbox_publish_seconds", "", "", ""), "s"),
            timeseries("Outbox backlog", [target("sagaflow_outbox_backlog", "{{instance}}")],
                       "short", thresholds=[(1000, "red")]),
            row("Inbox consumers"),
            timeseries("Consumer lag (sum over partitions)",
                       [target(f"sum by (consumer, topic) (sagaflow_consumer_lag{c})",
                               "{{consumer}} <- {{topic}}")], "short",
                       "Messages on the broker not yet handled (alert SagaflowConsumerLagGrowing).",
                       thresholds=[(1000, "red")]),
            timeseries("Handled messages/s",
                       [target(f"sum by (consumer) (rate(sagaflow_handler_seconds_count{c}[{RI}]))",
                               "{{consumer}}")], "ops"),
            timeseries("Handler latency p99 (one transaction)",
                       [target(f"histogram_quantile(0.99, sum by (le, consumer) "
                               f"(rate(sagaflow_handler_seconds_bucket{c}[{RI}])))",
                               "{{consumer}}")], "s"),
            timeseries("Mean inbox batch size",
                       [target(f"sum by (consumer) (rate(sagaflow_inbox_batch_size_sum{c}[{RI}]))"
                               f" / sum by (consumer) (rate(sagaflow_inbox_batch_size_count{c}[{RI}]))",
                               "{{consumer}}")], "short",
                       "Queued messages handled in one transaction."),
            timeseries("Retries, duplicates, dead letters /s",
                       [target(f"sum by (consumer) (rate(sagaflow_handler_retries_total{c}[{RI}]))",
                               "retries {{consumer}}"),
                        target(f"sum by (consumer) (rate(sagaflow_messages_duplicate_total{c}[{RI}]))",
                               "duplicates {{consumer}}"),
                        target(f"sum by (consumer, topic) (rate(sagaflow_dead_letters_total{c}[{RI}]))",
                               "dead letters {{consumer}} {{topic}}")], "ops"),
        ],
        [query_var("consumer", "Consumer", "sagaflow_handler_seconds_count", "consumer")],
    )


def gateway():
    reads = 'method=~"GET|HEAD", route!~".*/stream"'
    writes = 'method=~"POST|PUT|PATCH|DELETE"'
    return dashboard(
        "sagaflow-gateway", "Sagaflow / Gateway HTTP",
        "Requests, errors and latency of the gateway against the SLOs "
        "(p99 reads < 150 ms, writes < 300 ms, 5xx < 5%).",
        [
            row("SLOs"),
            stat("Requests/s", "sum(sagaflow:http_requests:rate5m)", "reqps"),
            stat("5xx share (5m)", "sagaflow:http_5xx_ratio:rate5m", "percentunit",
                 "Alert SagaflowHighErrorRate over 5%.", thresholds=[(0.05, "red")]),
            stat("p99 reads (5m)", "sagaflow:http_read_latency_seconds:p99_5m", "s",
                 "SLO 150 ms.", thresholds=[(0.15, "red")]),
            stat("p99 writes (5m)", "sagaflow:http_write_latency_seconds:p99_5m", "s",
                 "SLO 300 ms.", thresholds=[(0.3, "red")]),
            timeseries("Requests/s by route and status",
                       [target(f"sum by (method, route, status) "
                               f"(rate(sagaflow_http_request_seconds_count[{RI}]))",
                               "{{method}} {{route}} {{status}}")], "reqps", stack=True),
            timeseries("Errors/s by route",
                       [target(f'sum by (method, route, status) (rate(sagaflow_http_request_seconds_count{{status=~"5.."}}[{RI}]))',
                               "{{method}} {{route}} {{status}}"),
                        target(f'sum by (method, route, status) (rate(sagaflow_http_request_seconds_count{{status=~"4.."}}[{RI}]))',
                               "{{method}} {{route}} {{status}}"),
                        target(f"sum(rate(sagaflow_gateway_internal_errors_total[{RI}]))",
                               "internal errors")], "reqps"),
            row("Latency"),
            timeseries("Read latency p99 by route (SLO 150 ms)",
                       [target(f"histogram_quantile(0.99, sum by (le, route) "
                               f"(rate(sagaflow_http_request_seconds_bucket{{{reads}}}[{RI}])))",
                               "{{route}}")], "s", thresholds=[(0.15, "red")]),
            timeseries("Write latency p99 by route (SLO 300 ms)",
                       [target(f"histogram_quantile(0.99, sum by (le, method, route) "
                               f"(rate(sagaflow_http_request_seconds_bucket{{{writes}}}[{RI}])))",
                               "{{method}} {{route}}")], "s", thresholds=[(0.3, "red")]),
            timeseries("All requests",
                       quantiles("sagaflow_http_request_seconds", "",
                                 f'{{route!~".*/stream"}}', ""), "s"),
            row("Business"),
            timeseries("Checkouts and generations started/s",
                       [target(f"sum by (result) (rate(sagaflow_gateway_checkouts_total[{RI}]))",
                               "checkouts {{result}}"),
                        target(f"sum by (result) (rate(sagaflow_gateway_generations_total[{RI}]))",
                               "generations {{result}}"),
                        target(f"sum(rate(sagaflow_gateway_generation_cancellations_total[{RI}]))",
                               "generation cancellations")], "ops"),
            timeseries("Saga progress projected into the read model /s",
                       [target(f"sum(rate(sagaflow_gateway_progress_projected_total[{RI}]))",
                               "projected")], "ops"),
        ],
    )


def llm():
    p = '{provider=~"$provider"}'
    return dashboard(
        "sagaflow-llm", "Sagaflow / LLM",
        "LLM calls per provider, latency, tokens, cost, breakers, fallbacks, the "
        "response cache and document validation.",
        [
            row("Providers"),
            stat("Cost (USD, 24h)",
                 "sum(increase(sagaflow_llm_cost_micros_total[24h])) / 1e6", "currencyUSD"),
            stat("Open breakers",
                 'count(sagaflow_llm_breaker_state == 2) or vector(0)', "short",
                 "Alert SagaflowLlmBreakerOpen.", thresholds=[(1, "red")]),
            stat("Cache hit share",
                 f"sum(rate(sagaflow_llm_cache_hits_total[{RI}])) / (sum(rate(sagaflow_llm_cache_hits_total[{RI}]))"
                 f" + sum(rate(sagaflow_llm_cache_misses_total[{RI}])))", "percentunit"),
            stat("Fallbacks (1h)", "sum(increase(sagaflow_llm_fallbacks_total[1h]))", "short",
                 thresholds=[(1, "orange")]),
            timeseries("Calls/s by outcome",
                       [target(f"sum by (provider, outcome) (rate(sagaflow_llm_calls_total{p}[{RI}]))",
                               "{{provider}} {{outcome}}")], "ops"),
            timeseries("Call latency (retries included)",
                       [target(f"histogram_quantile({q}, sum by (le, provider) "
                               f"(rate(sagaflow_llm_call_seconds_bucket{p}[{RI}])))",
                               f"{{{{provider}}}} p{int(q * 100)}") for q in (0.5, 0.99)], "s"),
            timeseries("Breaker state (0 closed, 1 half-open, 2 open)",
                       [target(f"max by (provider) (sagaflow_llm_breaker_state{p})", "{{provider}}")],
                       "short", thresholds=[(2, "red")]),
            timeseries("Fallbacks/s",
                       [target(f"sum(rate(sagaflow_llm_fallbacks_total[{RI}]))", "fallbacks")], "ops"),
            row("Tokens and cost"),
            timeseries("Tokens/s",
                       [target(f"sum by (provider, direction) (rate(sagaflow_llm_tokens_total{p}[{RI}]))",
                               "{{provider}} {{direction}}")], "short", stack=True),
            timeseries("Cost (USD per hour)",
                       [target(f"sum by (provider) (rate(sagaflow_llm_cost_micros_total{p}[{RI}])) * 3600 / 1e6",
                               "{{provider}}")], "currencyUSD"),
            row("Documents"),
            timeseries("Response cache",
                       [target(f"sum by (kind) (rate(sagaflow_llm_cache_hits_total[{RI}]))",
                               "hits {{kind}}"),
                        target(f"sum by (kind) (rate(sagaflow_llm_cache_misses_total[{RI}]))",
                               "misses {{kind}}")], "ops", w=8),
            timeseries("Validation and export",
                       [target(f"sum by (outcome) (rate(sagaflow_documents_validated_total[{RI}]))",
                               "validated {{outcome}}"),
                        target(f"sum(rate(sagaflow_documents_exported_total[{RI}]))",
                               "exported")], "ops", w=8),
            timeseries("Generations refused",
                       [target(f"sum by (reason) (rate(sagaflow_generations_refused_total[{RI}]))",
                               "{{reason}}")], "ops", w=8),
        ],
        [query_var("provider", "Provider", "sagaflow_llm_calls_total", "provider")],
    )


DASHBOARDS = {
    "sagas.json": sagas,
    "messaging.json": messaging,
    "gateway-http.json": gateway,
    "llm.json": llm,
}


def render(build):
    return json.dumps(build(), indent=2, sort_keys=False) + "\n"


def main(argv):
    check = "--check" in argv
    stale = []
    OUT.mkdir(exist_ok=True)
    for name, build in DASHBOARDS.items():
        path = OUT / name
        text = render(build)
        if check:
            if not path.exists() or path.read_text() != text:
                stale.append(name)
        else:
            path.write_text(text)
    if stale:
        print("stale dashboards (run build_dashboards.py): " + ", ".join(stale),
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
