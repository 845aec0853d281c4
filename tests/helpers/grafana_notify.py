"""A stand-in for Grafana's alerting path from our provisioning file to a webhook, for tests.

No Grafana server binary exists here, so this does, from the committed provisioning document,
what Grafana 11.6 does after a rule's query returned its rows, step by step, each step after
Grafana's documented behaviour:

1. alert instances: one per row; labels = the rule's labels + ``alertname`` (the title) +
   ``grafana_folder`` + the row's string columns; ``values`` = the query's number (A) and the
   condition (C = 1 when firing);
2. annotations rendered from the rule's templates (``{{ $labels.x }}``, ``{{ $values.A.Value }}``:
   the two forms our rules use);
3. routing through the policy tree (``object_matchers`` with ``=``; first matching child route,
   else the root's receiver), grouping by the policy's ``group_by``;
4. the contact point's settings with ``$__env{...}`` filled from the environment, as file
   provisioning fills them;
5. the webhook integration's JSON body (the keys of Grafana's published webhook payload:
   ``WEBHOOK_KEYS`` / ``ALERT_KEYS``) POSTed to the settings' ``url`` with ``httpMethod``.

What it cannot show (see README "Alarms"): Grafana's own rule evaluation and scheduling, its
template engine beyond these two forms, retries, TLS, the email integration and SMTP delivery.
"""

from __future__ import annotations

import hashlib
import json
import re
import urllib.request
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ecgdash.grafana.alerts import resolve_env

# Grafana's webhook payload (docs: alerting > contact point integrations > webhook notifier)
WEBHOOK_KEYS = {"receiver", "status", "orgId", "alerts", "groupLabels", "commonLabels",
                "commonAnnotations", "externalURL", "version", "groupKey", "truncatedAlerts",
                "title", "state", "message"}
ALERT_KEYS = {"status", "labels", "annotations", "startsAt", "endsAt", "generatorURL",
              "fingerprint", "silenceURL", "dashboardURL", "panelURL", "values"}
_TEMPLATE = re.compile(r"\{\{\s*\$(labels|values)\.([A-Za-z0-9_]+)(?:\.Value)?\s*\}\}")


def instances(doc: Mapping[str, Any], rule_uid: str, columns: list[str], rows: list[tuple]
              ) -> list[dict[str, Any]]:
    """Firing alert instances of one rule for the rows its query returned (step 1 and 2)."""
    group = doc["groups"][0]
    rule = next(r for r in group["rules"] if r["uid"] == rule_uid)
    evaluator = rule["data"][1]["model"]["conditions"][0]["evaluator"]
    out = []
    for row in rows:
        labels = {**rule["labels"], "alertname": rule["title"], "grafana_folder": group["folder"]}
        value = None
        for name, v in zip(columns, row, strict=True):
            if isinstance(v, str):
                labels[name] = v
            else:
                value = float(v)
        assert value is not None, "a rule's query must return a number"
        op, thr = evaluator["type"], evaluator["params"][0]
        if not (value > thr if op == "gt" else value < thr):
            continue
        values = {"A": value, "C": 1}

        def render(text: str, labels: dict = labels, values: dict = values) -> str:
            return _TEMPLATE.sub(lambda m: str((labels if m.group(1) == "labels" else values)
                                               .get(m.group(2), "")), text)

        out.append({"labels": labels, "values": values,
                    "annotations": {k: render(v) for k, v in rule["annotations"].items()}})
    return out


def route(doc: Mapping[str, Any], labels: Mapping[str, str]) -> tuple[str, dict[str, Any]]:
    """(receiver name, the route) the policy tree picks for ``labels`` (step 3)."""
    root = doc["policies"][0]
    for r in root.get("routes", []):
        if all(labels.get(k) == v for k, op, v in r["object_matchers"] if op == "="):
            return r["receiver"], {**root, **r}
    return root["receiver"], root


def webhook_body(receiver: str, alerts: list[dict[str, Any]], group_by: list[str]
                 ) -> dict[str, Any]:
    """The webhook integration's JSON for one group of firing alerts (step 5)."""
    now = datetime.now(UTC).isoformat()
    full = []
    for a in alerts:
        fp = hashlib.sha256(json.dumps(a["labels"], sort_keys=True).encode()).hexdigest()[:16]
        full.append({"status": "firing", "labels": a["labels"], "annotations": a["annotations"],
                     "startsAt": now, "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "",
                     "fingerprint": fp, "silenceURL": "", "dashboardURL": "", "panelURL": "",
                     "values": a["values"]})
    common = {k: v for k, v in alerts[0]["labels"].items()
              if all(a["labels"].get(k) == v for a in alerts)}
    common_ann = {k: v for k, v in alerts[0]["annotations"].items()
                  if all(a["annotations"].get(k) == v for a in alerts)}
    group_labels = {k: common[k] for k in group_by if k in common}
    title = f"[FIRING:{len(alerts)}] " + " ".join(group_labels.values())
    message = "\n".join(a["annotations"].get("summary", "") for a in alerts)
    return {"receiver": receiver, "status": "firing", "orgId": 1, "alerts": full,
            "groupLabels": group_labels, "commonLabels": common,
            "commonAnnotations": common_ann, "externalURL": "", "version": "1",
            "groupKey": json.dumps(group_labels, sort_keys=True), "truncatedAlerts": 0,
            "title": title, "state": "alerting", "message": message}


def notify(doc: Mapping[str, Any], alerts: list[dict[str, Any]], env: Mapping[str, str]
           ) -> list[tuple[str, str]]:
    """Deliver firing alerts as Grafana would: returns (integration type, destination) of each
    notification; webhooks are really POSTed (steps 3-5)."""
    sent = []
    groups: dict[tuple, list[dict[str, Any]]] = {}
    picked: dict[tuple, tuple[str, dict[str, Any]]] = {}
    for a in alerts:
        name, r = route(doc, a["labels"])
        key = (name, *(a["labels"].get(k, "") for k in r["group_by"]))
        groups.setdefault(key, []).append(a)
        picked[key] = (name, r)
    points = {cp["name"]: resolve_env(cp, env) for cp in doc["contactPoints"]}
    for key, group in groups.items():
        name, r = picked[key]
        for integration in points[name]["receivers"]:
            s = integration["settings"]
            if integration["type"] == "webhook":
                body = json.dumps(webhook_body(name, group, r["group_by"])).encode()
                req = urllib.request.Request(s["url"], data=body, method=s["httpMethod"],
                                             headers={"Content-Type": "application/json"})
                with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - local test URL
                    assert resp.status == 200
                sent.append(("webhook", s["url"]))
            elif integration["type"] == "email":
                sent.append(("email", s["addresses"]))
    return sent
