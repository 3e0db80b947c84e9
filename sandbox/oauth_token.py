"""A stand-in for Google's OAuth 2.0 token endpoint, so a client's expired access token is refreshed for real.

google.auth's AuthorizedSession answers a 401 by refreshing its credentials and sending the request again
(google/auth/transport/requests.py, `refresh_status_codes`); user credentials refresh by POSTing
grant_type=refresh_token to their token_uri. Pointed at POST /token here, they get a fresh access token, or,
when the sandbox is told the grant was revoked, Google's answer to that: 400 {"error": "invalid_grant",
"error_description": "Token has been expired or revoked."}, which google.auth raises as a RefreshError.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web


@dataclass
class TokenIssuer:
    """Access tokens handed out so far; `revoked` makes every refresh fail as a revoked grant does."""

    issued: int = 0
    revoked: bool = False


async def token(request: web.Request) -> web.Response:
    from sandbox.cloudrun_api import STATE_KEY  # the state is the Cloud Run app's; imported here to avoid a cycle

    issuer: TokenIssuer = request.app[STATE_KEY].tokens
    form = await request.post()
    if form.get("grant_type") != "refresh_token" or not form.get("refresh_token"):
        return web.json_response({"error": "unsupported_grant_type",
                                  "error_description": "Only refresh_token grants are served here."}, status=400)
    if issuer.revoked:
        return web.json_response({"error": "invalid_grant",
                                  "error_description": "Token has been expired or revoked."}, status=400)
    issuer.issued += 1
    return web.json_response({"access_token": f"sandbox-access-{issuer.issued}", "expires_in": 3599,
                              "token_type": "Bearer", "scope": "https://www.googleapis.com/auth/cloud-platform"})
