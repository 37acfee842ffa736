"""A local server that speaks the part of Stripe's API the portal uses, over real HTTP.

It answers the official SDK as api.stripe.com would: form-encoded POSTs with bracketed keys
(``line_items[0][price_data][unit_amount]=30000``), Bearer authentication, ``Idempotency-Key``
replays, JSON objects shaped like Stripe's, and errors in Stripe's envelope
(``{"error": {"type", "code", "message", "param"}}``). Endpoints:

- ``POST /v1/checkout/sessions`` and ``GET /v1/checkout/sessions/{id}``
- ``POST /v1/refunds`` and ``GET /v1/refunds?payment_intent=...``

As the payer and as Stripe's webhook sender, a test calls ``pay`` or ``expire`` on a session,
builds an ``event`` and ``deliver``s it to the portal signed as Stripe signs:
``Stripe-Signature: t=<timestamp>,v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>``.
Every API request is kept in ``requests``.
"""

import hashlib
import hmac
import json
import re
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

Json = dict[str, Any]


@dataclass
class Recorded:
    """One API request as the server received it; ``params`` is the form body (or query)
    unflattened the way Stripe reads it."""

    method: str
    path: str
    headers: dict[str, str]
    params: Json = field(default_factory=dict)


class StripeError(Exception):
    def __init__(self, status: int, kind: str, message: str, *, code: str = "", param: str = ""):
        super().__init__(message)
        self.status = status
        self.body: Json = {"error": {"type": kind, "message": message}}
        if code:
            self.body["error"]["code"] = code
        if param:
            self.body["error"]["param"] = param


def unflatten(pairs: list[tuple[str, str]]) -> Json:
    """``a[b][0][c]=v`` pairs into nested objects; keys that are all indices become lists."""
    root: Json = {}
    for key, value in pairs:
        parts = re.findall(r"[^\[\]]+", key)
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    nested: Json = _lists(root)
    return nested


def _lists(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    if node and all(key.isdigit() for key in node):
        return [_lists(node[key]) for key in sorted(node, key=int)]
    return {key: _lists(value) for key, value in node.items()}


def _integer(params: Json, name: str, *, param: str | None = None) -> int:
    value = params.get(name)
    if not isinstance(value, str) or not value.isdigit():
        raise StripeError(
            400,
            "invalid_request_error",
            f"Invalid integer: {value}",
            code="parameter_invalid_integer",
            param=param or name,
        )
    return int(value)


def _new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


class StripeServer:
    """Start with ``with StripeServer(api_key, webhook_secret) as server:``; ``server.url`` is
    the API base to give the SDK."""

    def __init__(self, api_key: str, webhook_secret: str) -> None:
        self.api_key = api_key
        self.webhook_secret = webhook_secret
        self.requests: list[Recorded] = []
        self.sessions: dict[str, Json] = {}
        self.refunds: dict[str, Json] = {}
        self.intents: dict[str, Json] = {}
        self.api_version = ""
        self._replays: dict[str, tuple[tuple[str, str, str], bytes]] = {}
        self._drop: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> "StripeServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()

    # --- What a test asks ----------------------------------------------------------------

    def calls(self, method: str, path: str) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.method == method and r.path == path]

    def lose_next_answer(self, method: str, path: str) -> None:
        """Do the next such request, then hang up without answering: the client cannot know
        whether it happened."""
        with self._lock:
            self._drop.add((method, path))

    def forget_idempotency_keys(self) -> None:
        """What Stripe does to keys older than 24 hours."""
        with self._lock:
            self._replays.clear()

    # --- The payer and the webhook sender ------------------------------------------------

    def pay(self, session_id: str) -> Json:
        """The payer pays on the hosted page: the session completes, paid, with a PaymentIntent."""
        with self._lock:
            session = self.sessions[session_id]
            intent = {
                "id": _new_id("pi"),
                "object": "payment_intent",
                "amount": session["amount_total"],
                "currency": session["currency"],
                "status": "succeeded",
                "metadata": session["_payment_intent_metadata"],
            }
            self.intents[intent["id"]] = intent
            session.update(status="complete", payment_status="paid", payment_intent=intent["id"])
            return self._public(session)

    def expire(self, session_id: str) -> Json:
        with self._lock:
            session = self.sessions[session_id]
            session.update(status="expired", url=None)
            return self._public(session)

    def session(self, session_id: str) -> Json:
        with self._lock:
            return self._public(self.sessions[session_id])

    def event(self, kind: str, obj: Json) -> Json:
        """A snapshot event as Stripe sends it to a webhook endpoint."""
        return {
            "id": _new_id("evt"),
            "object": "event",
            "api_version": self.api_version,
            "created": int(time.time()),
            "data": {"object": obj},
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": kind,
        }

    def signature(
        self, body: bytes, *, secret: str | None = None, timestamp: int | None = None
    ) -> str:
        stamp = int(time.time()) if timestamp is None else timestamp
        signed = f"{stamp}.".encode() + body
        digest = hmac.new((secret or self.webhook_secret).encode(), signed, hashlib.sha256)
        return f"t={stamp},v1={digest.hexdigest()}"

    def deliver(
        self,
        url: str,
        event: Json,
        *,
        secret: str | None = None,
        timestamp: int | None = None,
    ) -> tuple[int, str]:
        """POST the event to the portal's webhook as Stripe does; the answer's status and text."""
        # Stripe sends its events pretty-printed: the signature covers these exact bytes.
        body = json.dumps(event, indent=2).encode()
        request = urllib.request.Request(
            url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
                "Stripe-Signature": self.signature(body, secret=secret, timestamp=timestamp),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    # --- The API -------------------------------------------------------------------------

    @staticmethod
    def _public(obj: Json) -> Json:
        return {key: value for key, value in obj.items() if not key.startswith("_")}

    def _create_session(self, params: Json) -> Json:
        if params.get("mode") not in ("payment", "setup", "subscription"):
            raise StripeError(
                400, "invalid_request_error", "Missing required param: mode.", param="mode"
            )
        items = params.get("line_items")
        if not isinstance(items, list) or not items:
            raise StripeError(
                400,
                "invalid_request_error",
                "line_items is required in payment mode.",
                param="line_items",
            )
        total, currencies = 0, set()
        for n, item in enumerate(items):
            price = item.get("price_data") or {}
            if not (price.get("product_data") or {}).get("name"):
                raise StripeError(
                    400,
                    "invalid_request_error",
                    "Missing required param: line_items[0][price_data][product_data][name].",
                    param=f"line_items[{n}][price_data][product_data][name]",
                )
            unit = _integer(price, "unit_amount", param=f"line_items[{n}][price_data][unit_amount]")
            quantity = _integer(item, "quantity", param=f"line_items[{n}][quantity]")
            total += unit * quantity
            currencies.add(price.get("currency"))
        if len(currencies) != 1:
            raise StripeError(
                400, "invalid_request_error", "All line items must share one currency."
            )
        session_id = _new_id("cs_test")
        session: Json = {
            "id": session_id,
            "object": "checkout.session",
            "mode": params["mode"],
            "status": "open",
            "payment_status": "unpaid",
            "url": f"{self.url}/c/pay/{session_id}",
            "amount_subtotal": total,
            "amount_total": total,
            "currency": currencies.pop(),
            "client_reference_id": params.get("client_reference_id"),
            "metadata": params.get("metadata") or {},
            "payment_intent": None,
            "success_url": params.get("success_url"),
            "cancel_url": params.get("cancel_url"),
            "created": int(time.time()),
            "expires_at": int(time.time()) + 24 * 3600,
            "livemode": False,
            "_payment_intent_metadata": (params.get("payment_intent_data") or {}).get("metadata")
            or {},
        }
        self.sessions[session_id] = session
        return self._public(session)

    def _get_session(self, session_id: str) -> Json:
        if session_id not in self.sessions:
            raise StripeError(
                404,
                "invalid_request_error",
                f"No such checkout.session: '{session_id}'",
                code="resource_missing",
                param="session",
            )
        return self._public(self.sessions[session_id])

    def _create_refund(self, params: Json) -> Json:
        intent = self.intents.get(params.get("payment_intent", ""))
        if intent is None:
            raise StripeError(
                400,
                "invalid_request_error",
                f"No such payment_intent: '{params.get('payment_intent')}'",
                code="resource_missing",
                param="payment_intent",
            )
        refunded = sum(
            r["amount"] for r in self.refunds.values() if r["payment_intent"] == intent["id"]
        )
        left = intent["amount"] - refunded
        amount = _integer(params, "amount") if "amount" in params else left
        if amount <= 0 or amount > left:
            raise StripeError(
                400,
                "invalid_request_error",
                f"Refund amount ({amount}) is greater than unrefunded amount ({left}).",
                code="amount_too_large",
                param="amount",
            )
        refund: Json = {
            "id": _new_id("re"),
            "object": "refund",
            "amount": amount,
            "currency": intent["currency"],
            "payment_intent": intent["id"],
            "reason": params.get("reason"),
            "metadata": params.get("metadata") or {},
            "status": "succeeded",
            "created": int(time.time()),
        }
        self.refunds[refund["id"]] = refund
        return refund

    def _list_refunds(self, params: Json) -> Json:
        intent = params.get("payment_intent")
        data = [r for r in self.refunds.values() if intent is None or r["payment_intent"] == intent]
        data.sort(key=lambda r: r["created"], reverse=True)
        return {"object": "list", "url": "/v1/refunds", "has_more": False, "data": data}

    def _answer(self, method: str, path: str, params: Json) -> Json:
        if method == "POST" and path == "/v1/checkout/sessions":
            return self._create_session(params)
        if method == "GET" and path.startswith("/v1/checkout/sessions/"):
            return self._get_session(path.rsplit("/", 1)[1])
        if method == "POST" and path == "/v1/refunds":
            return self._create_refund(params)
        if method == "GET" and path == "/v1/refunds":
            return self._list_refunds(params)
        raise StripeError(
            404, "invalid_request_error", f"Unrecognized request URL ({method}: {path})."
        )

    def handle(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, bytes, dict[str, str]] | None:
        """The answer (status, body, extra headers), or None to hang up without one."""
        split = urlsplit(target)
        form = body.decode() if method == "POST" else split.query
        pairs = parse_qsl(form, keep_blank_values=True)
        with self._lock:
            self.requests.append(Recorded(method, split.path, headers, unflatten(pairs)))
            self.api_version = headers.get("stripe-version", self.api_version)
            if headers.get("authorization") != f"Bearer {self.api_key}":
                given = headers.get("authorization", "").removeprefix("Bearer ")
                error = StripeError(
                    401,
                    "invalid_request_error",
                    f"Invalid API Key provided: {given[:8]}{'*' * 8}",
                )
                return error.status, json.dumps(error.body).encode(), {}
            key = headers.get("idempotency-key") if method == "POST" else None
            fingerprint = (method, split.path, json.dumps(sorted(pairs)))
            if key is not None and key in self._replays:
                seen, answer = self._replays[key]
                if seen != fingerprint:
                    error = StripeError(
                        400,
                        "idempotency_error",
                        "Keys for idempotent requests can only be used with the same "
                        "parameters they were first used with.",
                    )
                    return error.status, json.dumps(error.body).encode(), {}
                return 200, answer, {"Idempotent-Replayed": "true"}
            try:
                result = self._answer(method, split.path, unflatten(pairs))
            except StripeError as error:
                # A refused request is not kept under its key: it may be sent again, fixed.
                return error.status, json.dumps(error.body).encode(), {}
            answer = json.dumps(result).encode()
            if key is not None:
                self._replays[key] = (fingerprint, answer)
            if (method, split.path) in self._drop:
                self._drop.discard((method, split.path))
                return None
            return 200, answer, {}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {name.lower(): value for name, value in self.headers.items()}
                answered = server.handle(self.command, self.path, headers, body)
                if answered is None:
                    self.close_connection = True
                    return
                status, answer, extra = answered
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.send_header("Request-Id", _new_id("req"))
                for name, value in extra.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(answer)

            do_GET = _serve
            do_POST = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
