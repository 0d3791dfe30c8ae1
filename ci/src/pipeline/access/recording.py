"""What the emulator saw: moto's request recorder, read back as calls with their parameters.

moto records each request's method, URL, headers and body. Which operation it was, and with
which parameters, comes from botocore's own service models, so a call is named exactly as the
SDKs and the IAM documentation name it."""

import base64
import json
import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import parse_qs, parse_qsl, unquote, urlsplit

import botocore.session
import requests

# SigV4 signing names → botocore service names, for every service the pipeline uses.
SERVICES = {
    "budgets": "budgets",
    "dynamodb": "dynamodb",
    "events": "events",
    "iam": "iam",
    "kms": "kms",
    "lambda": "lambda",
    "logs": "logs",
    "monitoring": "cloudwatch",
    "s3": "s3",
    "secretsmanager": "secretsmanager",
    "sns": "sns",
    "sqs": "sqs",
    "sts": "sts",
    "tagging": "resourcegroupstaggingapi",
    "xray": "xray",
}
_CREDENTIAL = re.compile(r"Credential=([^/]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")
_RPC_V2 = re.compile(r"/service/[^/]+/operation/(\w+)$")


@dataclass(frozen=True)
class Call:
    """One request: who signed it, where, and the operation with its parameters."""

    access_key: str  # "" for an unsigned request
    region: str
    service: str  # botocore's name, or the signing name when botocore has no model for it
    operation: str  # "" when the request matches no operation of the service
    params: dict[str, Any] = field(default_factory=dict, compare=False)


def start(endpoint: str) -> None:
    """Forget earlier requests and record from now on."""
    for verb in ("reset-recording", "start-recording"):
        requests.post(f"{endpoint}/moto-api/recorder/{verb}", timeout=10).raise_for_status()


def stop(endpoint: str) -> list[dict[str, Any]]:
    """Stop recording; returns the requests recorded since `start` and erases them from the
    emulator's disk, since their bodies hold secret values."""
    recorder = f"{endpoint}/moto-api/recorder"
    requests.post(f"{recorder}/stop-recording", timeout=10).raise_for_status()
    answer = requests.get(f"{recorder}/download-recording", timeout=60)
    answer.raise_for_status()
    requests.post(f"{recorder}/reset-recording", timeout=10).raise_for_status()
    return entries(answer.text)


def entries(text: str) -> list[dict[str, Any]]:
    """The recorder's JSON objects. Its threads append an entry and its newline separately, so
    two entries can share a line; they are read as a stream, not line by line."""
    decoder, found, position = json.JSONDecoder(), [], 0
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position >= len(text):
            return found
        entry, position = decoder.raw_decode(text, position)
        found.append(entry)


def parse(entry: dict[str, Any]) -> Call:
    headers = {key.lower(): value for key, value in entry.get("headers", {}).items()}
    body = entry.get("body") or ""
    raw = base64.b64decode(body) if entry.get("body_encoded") else body.encode()
    url = urlsplit(entry["url"])
    signed = _CREDENTIAL.search(headers.get("authorization", ""))
    form = _form(headers, raw)
    if signed:
        access_key, region, signing = signed.groups()
    elif form.get("Action"):  # unsigned query calls: STS's web-identity and SAML sign-ins
        access_key, region, signing = "", "", "sts"
    else:
        return Call("", "", "", "", {"path": url.path})
    service = SERVICES.get(signing, signing)
    if signing not in SERVICES:
        return Call(access_key, region, service, "")
    target = headers.get("x-amz-target")
    if target:
        return Call(access_key, region, service, target.rsplit(".", 1)[-1], _json(raw))
    if form.get("Action"):
        return Call(access_key, region, service, str(form["Action"]), form)
    rpc = _RPC_V2.search(url.path)
    if rpc:
        return Call(access_key, region, service, rpc[1], {})
    operation, params = rest_operation(service, entry["method"], url.path, url.query)
    params.update(dict(parse_qsl(url.query, keep_blank_values=True)))
    if service == "s3" and operation in {"PutObject", "CopyObject"}:
        # The two share method and URI; only the copy names a source.
        copied = "x-amz-copy-source" in headers
        operation = "CopyObject" if copied else "PutObject"
        if copied:
            params["CopySource"] = unquote(headers["x-amz-copy-source"]).lstrip("/")
    if raw and headers.get("content-type", "").startswith("application/json"):
        params.update(_json(raw))
    return Call(access_key, region, service, operation, params)


def _json(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw or b"{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _form(headers: dict[str, str], raw: bytes) -> dict[str, Any]:
    """A query-protocol body, flattened: `A.member.1=x&A.member.2=y` becomes A: [x, y]."""
    if not headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return {}
    flat: dict[str, Any] = {}
    for key, values in parse_qs(raw.decode(errors="replace"), keep_blank_values=True).items():
        name = re.sub(r"\.(member|entry)\.\d+.*$", "", key)
        if name != key:
            flat.setdefault(name, []).append(values[0])
        else:
            flat[key] = values[0]
    return flat


@cache
def _templates(service: str) -> list[tuple[str, list[str], list[tuple[str, str]], str]]:
    model = botocore.session.get_session().get_service_model(service)
    found = []
    for name in model.operation_names:
        http = model.operation_model(name).http
        path, _, query = http["requestUri"].partition("?")
        found.append((http["method"], path.strip("/").split("/"), parse_qsl(query, True), name))
    return found


def rest_operation(service: str, method: str, path: str, query: str) -> tuple[str, dict[str, str]]:
    """The REST operation a request is: the most specific URI template that matches it."""
    present = dict(parse_qsl(query, keep_blank_values=True))
    segments = [unquote(part) for part in path.strip("/").split("/")]
    best: tuple[tuple[int, int], str, dict[str, str]] | None = None
    for verb, template, required, name in _templates(service):
        if verb != method or not all(
            key in present and (not value or present[key] == value) for key, value in required
        ):
            continue
        params = _match(template, segments)
        if params is None:
            continue
        score = (len(required), sum(not part.startswith("{") for part in template))
        if best is None or score > best[0]:
            best = (score, name, params)
    return (best[1], best[2]) if best else ("", {})


def _match(template: list[str], segments: list[str]) -> dict[str, str] | None:
    params: dict[str, str] = {}
    for index, part in enumerate(template):
        if part.startswith("{") and part.endswith("+}"):
            rest = segments[index:]
            if not rest or rest == [""]:
                return None
            params[part[1:-2]] = "/".join(rest)
            return params
        if index >= len(segments):
            return None
        if part.startswith("{") and part.endswith("}"):
            if not segments[index]:
                return None
            params[part[1:-1]] = segments[index]
        elif part != segments[index]:
            return None
    return params if len(segments) == len(template) else None
