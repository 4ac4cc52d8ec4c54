"""Which key goes to which host, and URLs with their passwords taken out.

A cloned repository's pyproject can name any endpoint, so a key is never broadcast: the model
under test's key (``MLB_API_KEY``, else ``OPENAI_API_KEY``) goes only to its own host, the judge's
(``MLB_JUDGE_API_KEY``) only to the judge's, falling back to the model's key only when both are
the same host. A key never travels over plain ``http://`` to a host that is not this machine
unless the user says so. ``user:password@`` in a URL is redacted wherever a URL is shown.
"""

from __future__ import annotations

import ipaddress
import os
import re
from urllib.parse import urlsplit, urlunsplit

from .spec import SpecError

MODEL_KEY_VARS = ("MLB_API_KEY", "OPENAI_API_KEY")
JUDGE_KEY_VAR = "MLB_JUDGE_API_KEY"
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)(?P<info>[^/@\s?#]+)@")


class CredentialError(SpecError):
    """A key would go where it should not (plain http to another host)."""


def redact_url(url: str) -> str:
    """``http://user:pw@host/v1`` -> ``http://***@host/v1``; other URLs unchanged."""
    return redact(url)


def redact(text: str) -> str:
    """Every ``scheme://userinfo@`` in free text loses its userinfo (error messages, options)."""
    if "@" not in text:
        return text
    return _USERINFO.sub(lambda m: f"{m.group('scheme')}***@", text)


def strip_userinfo(url: str) -> str:
    """The URL without userinfo (for comparing hosts and building identities)."""
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) with default ports filled in: what "the same host" means for a key."""
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme.lower(), (parts.hostname or "").lower(), port


def is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def model_key() -> str | None:
    return next((os.environ[v] for v in MODEL_KEY_VARS if os.environ.get(v)), None)


def judge_key(judge_url: str, model_url: str | None) -> str | None:
    """The judge's own key; the model's key only when the judge is served by the same host."""
    own = os.environ.get(JUDGE_KEY_VAR)
    if own:
        return own
    if model_url is not None and origin(judge_url) == origin(model_url):
        return model_key()
    return None


def check_transport(url: str, key: str | None, allow_insecure: bool, who: str) -> None:
    """Refuse to send a key in clear text to another machine unless explicitly allowed."""
    if key is None or allow_insecure:
        return
    if urlsplit(url).scheme == "http" and not is_loopback(url):
        raise CredentialError(
            f"refusing to send the {who} API key over plain http to {redact_url(url)}: use https, "
            "or pass --mlb-allow-insecure-key if this network is trusted"
        )
