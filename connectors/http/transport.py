"""An httpx transport that connects only to addresses it has checked.

The check lives in the network backend, the one place every connection is opened: the host is
resolved once, every resolved address is judged by the `AddressPolicy`, and the socket is
opened to one of the addresses that passed. httpcore then starts TLS with the original host
name (SNI and certificate checks are unchanged), so there is no gap between the check and the
connect for a rebinding DNS server to use, and every redirect hop goes through it again.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from collections.abc import Callable, Iterable

import httpcore
import httpx
from httpcore._backends.anyio import AnyIOBackend

from connectors.http.addresses import AddressPolicy

log = logging.getLogger("newsflow.fetch")


class BlockedAddress(Exception):
    """The host resolves only to addresses the policy refuses."""

    def __init__(self, host: str, reason: str) -> None:
        self.host = host
        self.reason = reason
        super().__init__(f"{host}: {reason}")


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves, checks and connects to the checked address in one step."""

    def __init__(
        self, policy: AddressPolicy, on_refused: Callable[[BlockedAddress], None] | None = None
    ) -> None:
        self._policy = policy
        self._on_refused = on_refused
        self._inner = AnyIOBackend()

    async def resolve(self, host: str, port: int, timeout: float | None) -> list[str]:
        """The addresses of `host` that the policy allows; raises `BlockedAddress` if none."""
        literal = host.strip("[]")
        if is_ip_literal(literal):
            addresses = [literal]
        else:
            addresses = await self._lookup(literal, port, timeout)
        refusals = [self._policy.refusal(address) for address in addresses]
        allowed = [a for a, refusal in zip(addresses, refusals, strict=True) if refusal is None]
        if not allowed:
            refused = BlockedAddress(host, "; ".join(r for r in refusals if r) or "no address")
            if self._on_refused is not None:
                self._on_refused(refused)
            raise refused
        return allowed

    async def _lookup(self, host: str, port: int, timeout: float | None) -> list[str]:
        try:
            async with asyncio.timeout(timeout):
                infos = await asyncio.get_running_loop().getaddrinfo(
                    host, port, type=socket.SOCK_STREAM
                )
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from exc
        except (OSError, UnicodeError) as exc:  # UnicodeError: a name IDNA cannot encode
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        return list(dict.fromkeys(str(info[4][0]) for info in infos))

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        last_error: Exception | None = None
        for address in await self.resolve(host, port, timeout):
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
        assert last_error is not None
        raise last_error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not used by the fetcher")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def is_ip_literal(host: str) -> bool:
    """True for an IPv4 or IPv6 address (with or without a zone), as opposed to a name."""
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


def guarded_transport(
    backend: GuardedBackend, max_connections: int, keepalive_expiry_s: float = 15.0
) -> httpx.AsyncHTTPTransport:
    """An httpx transport whose every connection goes through `backend`.

    httpx has no public parameter for the network backend, so the connection pool that
    `AsyncHTTPTransport` builds is replaced by an identical one using `backend`.
    """
    transport = httpx.AsyncHTTPTransport(trust_env=False)
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=httpx.create_ssl_context(trust_env=False),
        max_connections=max_connections,
        max_keepalive_connections=max_connections,
        keepalive_expiry=keepalive_expiry_s,
        network_backend=backend,
    )
    return transport
