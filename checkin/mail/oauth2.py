"""XOAUTH2 access tokens for Microsoft 365 and Google Workspace mailboxes."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.parse
import urllib.request

from checkin.errors import TemporaryFailure
from checkin.practice import OAuth2

_cache: dict[OAuth2, tuple[str, float]] = {}


def access_token(oauth: OAuth2) -> str:
    cached = _cache.get(oauth)
    if cached and cached[1] > time.monotonic():
        return cached[0]
    token, lifetime = _from_command(oauth) if oauth.token_command else _refresh(oauth)
    # Renew a minute early so a token never expires between fetch and use.
    _cache[oauth] = (token, time.monotonic() + max(lifetime - 60, 0))
    return token


def _from_command(oauth: OAuth2) -> tuple[str, float]:
    assert oauth.token_command
    try:
        done = subprocess.run(  # the operator's own command from the practice file
            oauth.token_command, shell=True, capture_output=True, text=True, timeout=60, check=True
        )
    except (subprocess.SubprocessError, OSError) as exc:
        raise TemporaryFailure(f"oauth2 token_command failed: {type(exc).__name__}") from exc
    token = done.stdout.strip()
    if not token:
        raise TemporaryFailure("oauth2 token_command printed no token")
    return token, 300.0  # unknown lifetime: ask again in a few minutes


def _refresh(oauth: OAuth2) -> tuple[str, float]:
    fields = {
        "grant_type": "refresh_token",
        "client_id": oauth.client_id or "",
        "refresh_token": os.environ.get(oauth.refresh_token_env or "", ""),
    }
    if oauth.client_secret_env:
        fields["client_secret"] = os.environ.get(oauth.client_secret_env, "")
    if oauth.scope:
        fields["scope"] = oauth.scope
    if not fields["refresh_token"]:
        raise TemporaryFailure(f"oauth2: environment variable {oauth.refresh_token_env} is empty")
    request = urllib.request.Request(
        oauth.token_url or "", data=urllib.parse.urlencode(fields).encode(), method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            body = json.load(response)
    except (OSError, ValueError) as exc:
        raise TemporaryFailure(f"oauth2 token refresh failed: {exc}") from exc
    return body["access_token"], float(body.get("expires_in", 3600))


def xoauth2_string(username: str, token: str) -> str:
    return f"user={username}\x01auth=Bearer {token}\x01\x01"
