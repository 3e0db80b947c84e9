"""The sandbox's Vercel edge: the Next.js app's pages, served for each deployment's URL and the production alias.

One local HTTP server answers every `*.vercel.app` host the sandbox's Vercel API hands out (a deployment's `url`,
its `alias`es), choosing the deployment by the Host header as Vercel's edge does. `VercelHostsTransport` is how a
client reaches it: an httpx transport that sends `https://<anything>.vercel.app/...` to this server over plain
HTTP with the Host header kept (the sandbox's stand-in for DNS and TLS), so the console fetches exactly the URLs
Vercel's API answered, with no special case in core.

Each READY deployment serves `/` and `/agents` (the page that opens the WebSocket) and their `/_next/static/`
chunks. NEXT_PUBLIC_ variables are inlined into the JavaScript at build time (Next.js, "Bundling Environment
Variables for the Browser": https://nextjs.org/docs/app/guides/environment-variables), so the WebSocket URL a
deployment opens is the project's NEXT_PUBLIC_WEBSOCKET_URL as it was when that deployment was built
(`Deployment.build_env`), and a rollback serves the old value again. Page faults (`PAGE_FAULTS`), baked into builds
made while set, break a page the way a bad release does: a 500, a missing chunk, or a wrong WebSocket URL inlined.
Errors carry Vercel's codes and statuses (https://vercel.com/docs/errors: DEPLOYMENT_NOT_FOUND 404, NOT_FOUND 404,
FUNCTION_INVOCATION_FAILED 500).

A project may be protected (`Protection`), as Vercel's Standard Protection does: every deployment URL needs
authentication, the production domain stays public (https://vercel.com/docs/deployment-protection), and automation
passes with the project's Protection Bypass for Automation secret in the `x-vercel-protection-bypass` header or query
parameter (https://vercel.com/docs/deployment-protection/methods-to-bypass-deployment-protection/protection-bypass-
automation). Secrets live in memory only, as the sandbox's Secret Manager values do.
"""

from __future__ import annotations

import hashlib
import json

import httpx
from aiohttp import web

from sandbox.vercel_state import ALIAS_SUFFIX, Deployment, VercelApiError, VercelState

PAGES_STATE = web.AppKey("vercel_pages_state", VercelState)
BYPASS = "x-vercel-protection-bypass"
WEBSOCKET_VARIABLE = "NEXT_PUBLIC_WEBSOCKET_URL"
# What a fault does to the builds made while it is set (sandbox/vercel_state.py: Project.page_fault).
PAGE_FAULTS = ("server-error", "missing-asset", "wrong-websocket-url")
WRONG_WEBSOCKET_URL = "ws://localhost:8080"  # a developer's .env.local that leaked into a build
_ROUTES = {"/": "index", "/agents": "agents"}


def _text(status: int, code: str, headline: str) -> web.Response:
    # Vercel's error pages name the code under a one-line headline, with the request id.
    return web.Response(status=status, text=f"{headline}\n\n{code}\n", headers={"x-vercel-error": code})


def _build_id(dep: Deployment) -> str:
    return hashlib.sha1(dep.id.encode()).hexdigest()[:21]


def _chunk(dep: Deployment, page: str) -> str:
    return f"/_next/static/chunks/pages/{page}-{hashlib.sha1((dep.id + page).encode()).hexdigest()[:16]}.js"


def _baked_websocket_url(state: VercelState, dep: Deployment) -> str | None:
    if dep.page_fault == "wrong-websocket-url":
        return WRONG_WEBSOCKET_URL
    return dep.build_env.get(WEBSOCKET_VARIABLE)


def _html(dep: Deployment, path: str, page: str) -> str:
    data = json.dumps({"props": {"pageProps": {}}, "page": path, "query": {}, "buildId": _build_id(dep)})
    title = "AI Agent Network" + (" · Agents" if page == "agents" else "")
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charSet=\"utf-8\"/>"
            f"<title>{title}</title>"
            f"<link rel=\"stylesheet\" href=\"/_next/static/css/{_build_id(dep)}.css\"/>"
            f"<script src=\"{_chunk(dep, '_app')}\" defer=\"\"></script>"
            f"<script src=\"{_chunk(dep, page)}\" defer=\"\"></script></head>"
            f"<body><div id=\"__next\"><main><h1>{title}</h1></main></div>"
            f"<script id=\"__NEXT_DATA__\" type=\"application/json\">{data}</script></body></html>")


def _script(state: VercelState, dep: Deployment, page: str) -> str:
    if page != "agents":
        return f"(self.webpackChunk_N_E=self.webpackChunk_N_E||[]).push([[{len(page)}],{{}}]);/* {page} */"
    url = _baked_websocket_url(state, dep)
    # What `new WebSocket(process.env.NEXT_PUBLIC_WEBSOCKET_URL)` becomes after Next.js inlines it; an unset
    # variable is inlined as undefined.
    inlined = "undefined" if url is None else json.dumps(url)
    return ("(self.webpackChunk_N_E=self.webpackChunk_N_E||[]).push([[405],{7405:function(e,t,n){"
            f"var s=new WebSocket({inlined});s.onmessage=function(m){{n.agents(m.data)}}}}}}]);")


class Protection:
    """Projects (by name) under Standard Protection, each with its bypass secret."""

    def __init__(self) -> None:
        self.secrets: dict[str, str] = {}

    def protect(self, project: str, bypass: str | None) -> None:
        """Protect `project`'s deployment URLs, passable with `bypass`; None lifts the protection."""
        if bypass is None:
            self.secrets.pop(project, None)
        else:
            self.secrets[project] = bypass


PROTECTION = web.AppKey("vercel_pages_protection", Protection)


def _refused(request: web.Request, state: VercelState, dep: Deployment, host: str) -> bool:
    project = state.projects[dep.project_id]
    secret = request.app[PROTECTION].secrets.get(project.name)
    if secret is None or host == project.production_alias:
        return False
    return secret not in (request.headers.get(BYPASS), request.query.get(BYPASS))


async def serve_page(request: web.Request) -> web.Response:
    state = request.app[PAGES_STATE]
    host = request.host.split(":", 1)[0]
    with state.lock:
        try:
            dep = state.deployment(host)
        except VercelApiError:
            return _text(404, "DEPLOYMENT_NOT_FOUND", "404: NOT_FOUND")
        if dep.ready_state != "READY":
            return _text(404, "DEPLOYMENT_NOT_FOUND", "404: NOT_FOUND")
        if _refused(request, state, dep, host):
            return web.Response(status=401, text="Authentication Required")
        path = request.path
        if path in _ROUTES:
            page = _ROUTES[path]
            if dep.page_fault == "server-error" and page == "agents":
                return _text(500, "FUNCTION_INVOCATION_FAILED", "500: INTERNAL_SERVER_ERROR")
            return web.Response(text=_html(dep, path, page), content_type="text/html")
        for page in ("_app", *_ROUTES.values()):
            if path == _chunk(dep, page) and not (dep.page_fault == "missing-asset" and page == "agents"):
                return web.Response(text=_script(state, dep, page), content_type="application/javascript")
        if path == f"/_next/static/css/{_build_id(dep)}.css":
            return web.Response(text="main{font-family:system-ui}", content_type="text/css")
        return _text(404, "NOT_FOUND", "404: NOT_FOUND")


def vercel_pages_app(state: VercelState, protection: Protection | None = None) -> web.Application:
    """Every deployment's pages, by Host; serve it with `ServedApp`."""
    app = web.Application()
    app[PAGES_STATE] = state
    app[PROTECTION] = protection or Protection()
    app.router.add_get("/{tail:.*}", serve_page)
    return app


class VercelHostsTransport(httpx.BaseTransport):
    """Sends requests for `*.vercel.app` to the sandbox's page server (plain HTTP, Host header kept)."""

    def __init__(self, pages_url: str) -> None:
        self._target = httpx.URL(pages_url)
        self._inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if not request.url.host.endswith(ALIAS_SUFFIX):
            return self._inner.handle_request(request)
        request.url = request.url.copy_with(scheme=self._target.scheme, host=self._target.host,
                                            port=self._target.port)
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


def pages_client(pages_url: str, timeout: float = 10.0) -> httpx.Client:
    """An httpx client that reaches the sandbox's `*.vercel.app` hosts and everything else as usual."""
    return httpx.Client(timeout=timeout, mounts={"https://": VercelHostsTransport(pages_url)})
