"""newsflow.redact: the one function that masks credentials in printed and logged text."""

from __future__ import annotations

import base64

from hypothesis import given, settings
from hypothesis import strategies as st

from newsflow.redact import redact, redact_all


def test_masks_url_user_info_and_authorization_credentials() -> None:
    basic = base64.b64encode(b"elastic:pa55word").decode()
    text = f"GET http://u:secret@host/x failed; echoed Authorization: Basic {basic}"
    assert redact(text) == "GET http://***@host/x failed; echoed Authorization: Basic ***"
    assert redact("Bearer eyJhbGciOiJIUzI1NiJ9.e30.abc") == "Bearer ***"
    assert redact("ApiKey VnVhQ2ZHY0JDZGJrU") == "ApiKey ***"


def test_leaves_ordinary_words_alone() -> None:
    words = "Basic income and Bearer bonds, see http://example.com/a?x=y"
    assert redact(words) == words


def test_known_secret_values_are_masked_too() -> None:
    assert redact_all("password hunter2 rejected", ("hunter2", "")) == "password *** rejected"


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80), st.text(alphabet="abcdef:0123", min_size=1, max_size=12))
def test_never_raises_and_never_shows_basic_credentials(prefix: str, secret: str) -> None:
    token = base64.b64encode(f"user:{secret}".encode()).decode()
    masked = redact(f"{prefix} Authorization: Basic {token} http://user:{secret}@h/")
    assert token not in masked and f"user:{secret}@" not in masked
