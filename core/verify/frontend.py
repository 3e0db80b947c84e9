"""The frontend checked the way a browser finds it: its pages fetched from a Vercel host, with their scripts.

A host is what Vercel's API answers for a deployment (`url`, before promotion) or production (`alias`, after): a
hostname without a scheme, served over HTTPS. Each page must answer 200 with HTML, each of its own
`/_next/static/` assets must answer 200, and the page that opens the WebSocket must open the environment's
configured URL. Next.js inlines NEXT_PUBLIC_ variables into the JavaScript at build time
(https://nextjs.org/docs/app/guides/environment-variables), so the URL is read from the page and its scripts:
a build made with a wrong or missing NEXT_PUBLIC_WEBSOCKET_URL opens the wrong server whatever the project's
settings say now. Each problem is one sentence naming the URL and what was wrong.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from html.parser import HTMLParser

import httpx

from core.model import frontend_env
from core.verify.common import number, reason_from_body

# The seed's frontend is a client-heavy Next.js app: its home page, and the agents page that opens the WebSocket.
PAGES = ("/", "/agents")
WEBSOCKET_PAGE = "/agents"
WEBSOCKET_VARIABLE = frontend_env.WEBSOCKET_URL  # the one name (core/model/frontend_env.py), Terraform's too
_MAX_REDIRECTS = 3
_WS_URL = re.compile(r"""wss?://[^"'`\s)]+""")


class _Assets(HTMLParser):
    """The same-origin scripts and stylesheets a page loads."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        link = named.get("src") if tag == "script" else named.get("href") if tag == "link" else None
        if link and link.startswith("/") and not link.startswith("//"):
            self.found.append(link)


def page_base(host: str) -> str:
    """A Vercel host as a browser opens it: https:// unless the answer already carried a scheme."""
    return host.rstrip("/") if "://" in host else f"https://{host.rstrip('/')}"


def _get(http: httpx.Client, url: str, timeout: float,
         headers: Mapping[str, str]) -> tuple[httpx.Response | None, str]:
    """One page or asset, following redirects on its own host only: a redirect elsewhere (Vercel's Deployment
    Protection sends a browser to vercel.com to log in: https://vercel.com/docs/deployment-protection) is a problem
    said as such, never a login page mistaken for the app."""
    target = httpx.URL(url)
    try:
        for _ in range(_MAX_REDIRECTS + 1):
            answer = http.get(target, timeout=timeout, follow_redirects=False, headers=dict(headers))
            if not answer.is_redirect:
                return answer, ""
            following = target.join(answer.headers.get("location", ""))
            if following.host != target.host:
                return None, f"{url} redirected to {following.copy_with(query=None)} (another host: is the " \
                             "deployment protected?)"
            target = following
        return None, f"{url} redirected more than {_MAX_REDIRECTS} times"
    except httpx.TimeoutException:
        return None, f"{url} did not answer within {number(timeout)} s"
    except httpx.HTTPError as exc:
        return None, f"{url} could not be reached ({type(exc).__name__})"


def _refused(url: str, answer: httpx.Response, what: str = "") -> str:
    reason = reason_from_body(answer.text)[0]
    return f"{url}{what} answered {answer.status_code}" + (f" ({reason})" if reason else "")


def check_pages(http: httpx.Client, host: str, websocket_url: str, *, timeout: float = 10.0,
                pages: Sequence[str] = PAGES, headers: Mapping[str, str] | None = None) -> list[str]:
    """What is wrong with the frontend served at `host` (empty: every page, asset and the WebSocket URL are right).
    `headers` go with every request (Vercel's protection bypass for a protected deployment URL)."""
    headers = headers or {}
    base, problems = page_base(host), []
    for path in pages:
        url = base + path
        answer, failed = _get(http, url, timeout, headers)
        if answer is None:
            problems.append(failed)
            continue
        if answer.status_code != 200:
            problems.append(_refused(url, answer))
            continue
        if "html" not in answer.headers.get("content-type", ""):
            problems.append(f"{url} answered {answer.headers.get('content-type') or 'no content type'}, not HTML")
            continue
        parser = _Assets()
        parser.feed(answer.text)
        texts, before = [answer.text], len(problems)
        for asset in dict.fromkeys(parser.found):
            fetched, failed = _get(http, base + asset, timeout, headers)
            if fetched is None:
                problems.append(failed)
            elif fetched.status_code != 200:
                problems.append(_refused(base + asset, fetched, f" (loaded by {url})"))
            else:
                texts.append(fetched.text)
        if path == WEBSOCKET_PAGE and len(problems) == before:
            opened = sorted({m.group(0) for text in texts for m in _WS_URL.finditer(text)})
            if websocket_url.rstrip("/") not in {o.rstrip("/") for o in opened}:
                said = f"opens {', '.join(opened)}" if opened else f"opens no WebSocket URL ({WEBSOCKET_VARIABLE} " \
                                                                   "was not set when it was built)"
                problems.append(f"{url} {said}, not the configured {websocket_url}")
    return problems


def check_hosts(http: httpx.Client | None, hosts: Sequence[str], websocket_url: str, *,
                timeout: float = 10.0, headers: Mapping[str, str] | None = None) -> list[str]:
    """`check_pages` on each host (a plain client when none is given); no host at all is a problem too."""
    if not hosts:
        return ["Vercel named no URL to fetch the frontend's pages from"]
    client = http or httpx.Client()
    try:
        return [problem for host in hosts
                for problem in check_pages(client, host, websocket_url, timeout=timeout, headers=headers)]
    finally:
        if http is None:
            client.close()
