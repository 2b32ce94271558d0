"""URL canonicalisation and the ids derived from it (pure functions)."""

from __future__ import annotations

import hashlib
import re
import string
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# Query parameters that only track the reader and never select content.
TRACKING_PARAMS = frozenset(
    [
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "twclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
        "ocid",
        "cmpid",
        "ncid",
        "sr_share",
        "at_medium",
        "at_campaign",
        "ito",
        "spm",
        "vero_id",
        "_ga",
        "_gl",
        "ref_src",
        "ref_url",
        "smid",
        "smtyp",
        "guccounter",
        "guce_referrer",
        "guce_referrer_sig",
        "__twitter_impression",
        "oly_anon_id",
        "oly_enc_id",
        "rb_clickid",
        "s_cid",
        "wt_mc",
        "wt_zmc",
    ]
)
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def is_tracking_param(name: str) -> bool:
    """True for query parameters that only identify a campaign or a click."""
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def canonicalize(url: str) -> str:
    """Normalise a URL so that the same page always gives the same string.

    Lower-cases scheme and host (international hosts in their ASCII form), drops default
    ports, user info, the fragment and tracking parameters, sorts the remaining query
    parameters, normalises percent-escapes in the path (unreserved characters decoded, hex
    upper-cased) and turns an empty path into `/`.
    Raises `ValueError` for anything that is not an absolute http(s) URL.
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"not an absolute http(s) URL: {url!r}")
    host = _ascii_host(parts.hostname.lower().rstrip("."))
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    query = urlencode(
        sorted(
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if not is_tracking_param(k)
        )
    )
    path = _PERCENT_ESCAPE.sub(_normalize_escape, parts.path) or "/"
    return urlunsplit((scheme, netloc, path, query, ""))


_PERCENT_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")
_UNRESERVED = frozenset(string.ascii_letters + string.digits + "-._~")


def _normalize_escape(match: re.Match[str]) -> str:
    char = chr(int(match.group(0)[1:], 16))
    return char if char in _UNRESERVED else match.group(0).upper()


def _ascii_host(host: str) -> str:
    """An international host name in its ASCII (punycode) form; others unchanged."""
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


def stable_id(*parts: str) -> str:
    """A 96-bit hex id from text parts, stable across runs and machines."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
    return digest[:24]


def article_id(canonical_url: str) -> str:
    """The id of the article at `canonical_url` (already canonicalised)."""
    return stable_id("article", canonical_url)


def host_of(url: str) -> str:
    """The lower-case host name of `url`, without a leading `www.`."""
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.")
