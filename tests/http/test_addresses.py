"""The address policy: every non-public range refused, allow-listed networks let through."""

from __future__ import annotations

import pytest

from connectors.http.addresses import AddressPolicy

BLOCKED = [
    "127.0.0.1",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "0.0.0.0",
    "224.0.0.1",
    "240.0.0.1",
    "255.255.255.255",
    "::1",
    "::",
    "fe80::1",
    "fc00::1",
    "ff02::1",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "2002:7f00:1::",  # 6to4 wrapping 127.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 wrapping 169.254.169.254
    "2001:db8::1",
]
PUBLIC = ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:93.184.216.34"]


@pytest.mark.parametrize("address", BLOCKED)
def test_non_public_addresses_refused(address: str) -> None:
    assert AddressPolicy().refusal(address) is not None


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_allowed(address: str) -> None:
    assert AddressPolicy().refusal(address) is None


def test_allow_list_exempts_its_networks_only() -> None:
    policy = AddressPolicy.from_cidrs(["127.0.0.0/8"])
    assert policy.refusal("127.0.0.1") is None
    assert policy.refusal("::ffff:127.0.0.5") is None
    assert policy.refusal("::1") is not None
    assert policy.refusal("10.0.0.1") is not None


def test_refusal_names_the_range() -> None:
    assert "loopback" in (AddressPolicy().refusal("127.0.0.1") or "")
    assert "link-local" in (AddressPolicy().refusal("169.254.169.254") or "")


def test_malformed_cidr_rejected() -> None:
    with pytest.raises(ValueError):
        AddressPolicy.from_cidrs(["not-a-network"])
