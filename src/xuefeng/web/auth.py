"""Who may talk to the web server: the token, the Host rule and the body-size bound.

Tokens travel in a header only (`Authorization: Bearer <token>` or
`X-Xuefeng-Token: <token>`). A token in a URL (`?token=...`) is not accepted:
URLs are written to access logs, browser histories, `Referer` headers and
shell histories, and one leaked that way stays valid until the server restarts.

A browser cannot add a header to a page it navigates to, so a navigation
without the token (a GET that accepts text/html) is answered 401 with a small
page that asks for the token, keeps it in the tab's `sessionStorage` (key
`TOKEN_STORAGE_KEY`; gone when the tab closes, never sent unless a script
sends it), fetches the page it was asked for with the token as a header, and
shows it in place. Pages that call the API from their own scripts read the
token from the same key and send it as a header.

Uvicorn's access log writes each request line; `AccessLogRedactor` rewrites
any token in it (the server's own, and any `token=`-like query parameter a
client sends anyway) as `***`.
"""

from __future__ import annotations

import hmac
import logging
import re

from fastapi.responses import HTMLResponse, JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: sessionStorage key under which the token page keeps the token for the tab.
TOKEN_STORAGE_KEY = "xuefeng-token"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
#: Query parameters whose values the access log never shows.
_SECRET_QUERY = re.compile(r"(?i)([?&;](?:token|access_token|api_key|apikey|key|secret|password)=)[^&;\s\"]*")

UNAUTHORISED = ("missing or wrong token: send it in a header, 'Authorization: Bearer <token>' or "
                "'X-Xuefeng-Token: <token>' (a token in the URL is not accepted)")

TOKEN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Xuefeng: token</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:16px system-ui,sans-serif;margin:4em auto;max-width:28em}input{width:100%%;font:inherit}</style>
</head><body>
<h1>Xuefeng</h1>
<p>This server asks for its token (given to <code>xuefeng serve --token</code>).</p>
<form id="token-form"><input id="token" type="password" autocomplete="current-password" autofocus
 aria-label="Token"><p><button type="submit">Open</button></p></form>
<p id="token-message" role="alert"></p>
<script>
"use strict";
const KEY = "%s";
async function enter(tok) {
  const r = await fetch(location.pathname + location.search,
                        {headers: {"Authorization": "Bearer " + tok}, cache: "no-store"});
  if (r.status === 401) {
    sessionStorage.removeItem(KEY);
    document.getElementById("token-message").textContent = "Wrong token.";
    return;
  }
  sessionStorage.setItem(KEY, tok);
  const html = await r.text();
  document.open(); document.write(html); document.close();
}
document.getElementById("token-form").addEventListener("submit", e => {
  e.preventDefault(); enter(document.getElementById("token").value.trim());
});
const saved = sessionStorage.getItem(KEY);
if (saved) enter(saved);
</script>
</body></html>
""" % TOKEN_STORAGE_KEY


def is_loopback(host: str) -> bool:
    """Whether binding to `host` keeps the server on this machine."""
    import ipaddress

    h = host.strip("[]")
    if h == "localhost":
        return True
    try:
        return ipaddress.ip_address(h).is_loopback
    except ValueError:
        return False


def _json_body(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


def _wants_page(scope: Scope, headers: dict[str, str]) -> bool:
    """A browser navigating to a page (not a script or an API client)."""
    return scope.get("method") == "GET" and "text/html" in headers.get("accept", "")


class GuardMiddleware:
    """Token, Host and body-size checks for every HTTP request, before routing."""

    def __init__(self, app: ASGIApp, token: str | None, max_body: int, extra_hosts: frozenset[str]) -> None:
        self.app = app
        self.token = token
        self.max_body = max_body
        self.extra_hosts = extra_hosts

    def _authorised(self, headers: dict[str, str]) -> bool:
        assert self.token is not None
        want = self.token.encode()
        auth = headers.get("authorization", "")
        if auth[:7].lower() == "bearer " and hmac.compare_digest(auth[7:].strip().encode(), want):
            return True
        return hmac.compare_digest(headers.get("x-xuefeng-token", "").encode(), want)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        if self.token is not None:
            if not self._authorised(headers):
                if _wants_page(scope, headers):
                    resp = HTMLResponse(TOKEN_PAGE, status_code=401, headers={
                        "WWW-Authenticate": "Bearer", "Cache-Control": "no-store"})
                else:
                    resp = _json_body(401, UNAUTHORISED, {"WWW-Authenticate": "Bearer"})
                await resp(scope, receive, self._secure(send))
                return
        else:
            host = headers.get("host", "")
            name = (host.rsplit(":", 1)[0] if not host.endswith("]") else host).lower()
            if host and not is_loopback(name) and name not in self.extra_hosts:
                await _json_body(400, f"host '{host}' not accepted: without a token the server answers "
                                      "only for 127.0.0.1 / localhost")(scope, receive, send)
                return
        length = headers.get("content-length")
        if length is not None:
            try:
                n = int(length)
            except ValueError:
                await _json_body(400, "bad Content-Length")(scope, receive, send)
                return
            if n > self.max_body:
                await _json_body(413, f"request body too large ({n} bytes; at most {self.max_body})")(
                    scope, receive, send)
                return
        # read the body up front, bounded (also when it comes chunked), then replay it
        body = bytearray()
        more = scope.get("method") in ("POST", "PUT", "PATCH", "DELETE")
        while more:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                return
            body.extend(msg.get("body", b""))
            if len(body) > self.max_body:
                await _json_body(413, f"request body too large (more than {self.max_body} bytes)")(
                    scope, receive, send)
                return
            more = msg.get("more_body", False)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, self._secure(send))

    @staticmethod
    def _secure(send: Send) -> Send:
        async def send_wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                hs = list(message.get("headers", []))
                hs.append((b"x-content-type-options", b"nosniff"))
                hs.append((b"referrer-policy", b"no-referrer"))
                hs.append((b"x-frame-options", b"DENY"))
                message = {**message, "headers": hs}
            await send(message)

        return send_wrapped


class AccessLogRedactor(logging.Filter):
    """Rewrites tokens in log records as `***`: the server's token anywhere, and the value of
    any token-like query parameter (a client may send one although it is not accepted)."""

    def __init__(self, token: str | None) -> None:
        super().__init__()
        self.token = token

    def _clean(self, text: str) -> str:
        from urllib.parse import unquote

        plain = unquote(text)
        if plain != text and (_SECRET_QUERY.search(plain) or (self.token and self.token in plain)):
            text = plain  # a percent-encoded token or parameter name: show the decoded line, cleaned
        if self.token:
            text = text.replace(self.token, "***")
        return _SECRET_QUERY.sub(r"\1***", text)

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(self._clean(a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = self._clean(record.msg)
        return True


def log_config(token: str | None) -> dict:
    """Uvicorn's default logging configuration with `AccessLogRedactor` on its loggers."""
    import copy

    from uvicorn.config import LOGGING_CONFIG

    cfg = copy.deepcopy(LOGGING_CONFIG)
    cfg.setdefault("filters", {})["xuefeng_redact"] = {"()": AccessLogRedactor, "token": token}
    for name in ("uvicorn.access", "uvicorn.error"):
        logger = cfg["loggers"].setdefault(name, {})
        logger["filters"] = [*logger.get("filters", []), "xuefeng_redact"]
    return cfg
