"""Fetch images customers send and keep them in a local attachment store, safely.

A customer's HTML names the URL, so every download is treated as hostile: only ``https`` (plus
what the policy adds), only hosts on an allow-list (Intercom's attachment hosts by default),
never a loopback, private, link-local or otherwise internal address (checked on the resolved
addresses before connecting and on the connected peer), redirects followed by hand with every hop
checked again, a wall-clock deadline, a size cap and a check that the bytes are an image. A failed
download never raises: it returns a placeholder :class:`~deskmate.core.domain.Attachment` whose
``error`` says why. Signed query strings (``?expires=…&signature=…``) never reach a log or an error.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import logging
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit, urlunsplit

from deskmate.core.domain import Attachment

if TYPE_CHECKING:  # requests and urllib3 are imported when the first downloader is made
    import requests
    from urllib3.connection import HTTPConnection

log = logging.getLogger(__name__)

DEFAULT_IMAGE_HOSTS: tuple[str, ...] = (
    "downloads.intercomcdn.com",
    "downloads.intercomcdn.eu",
    "downloads.au.intercomcdn.com",
    "uploads.intercomusercontent.com",
    *(f"*.intercom-attachments-{n}.com" for n in range(1, 10)),
)
"""Where Intercom serves message images and attachments (``*.`` means any subdomain)."""

IMAGE_TYPES: dict[bytes, tuple[str, str]] = {
    b"\x89PNG\r\n\x1a\n": ("image/png", ".png"),
    b"\xff\xd8\xff": ("image/jpeg", ".jpg"),
    b"GIF87a": ("image/gif", ".gif"),
    b"GIF89a": ("image/gif", ".gif"),
}
"""Magic bytes of the image formats kept; WebP is checked separately (RIFF....WEBP)."""

Resolver = Callable[[str, int], list[str]]


class DownloadRefused(Exception):
    """A download deskmate would not do or finish; the message is safe to show and record."""


@dataclass(frozen=True)
class DownloadPolicy:
    """What a download may touch and how much of it.

    ``hosts`` entries are a host name (``downloads.intercomcdn.com``), a subdomain wildcard
    (``*.intercom-attachments-7.com``) or either with a port (``127.0.0.1:8765``). Only a host
    the operator wrote as a literal IP address may be an internal address: that is how a local
    sandbox is allowed, and no host name can ever resolve its way onto the internal network.
    """

    hosts: tuple[str, ...] = DEFAULT_IMAGE_HOSTS
    schemes: frozenset[str] = frozenset({"https"})
    max_bytes: int = 10 * 1024 * 1024
    timeout: float = 10.0
    max_redirects: int = 3

    def permits(self, host: str, port: int) -> bool:
        """Whether ``host:port`` matches an allow-list entry."""
        return any(_entry_matches(entry.lower(), host, port) for entry in self.hosts)

    def trusts_internal(self, host: str, port: int) -> bool:
        """Whether the operator listed this exact IP address, so it may be internal."""
        return any(
            _is_ip(_split_entry(entry)[0]) and _entry_matches(entry.lower(), host, port)
            for entry in self.hosts
        )


def _split_entry(entry: str) -> tuple[str, int | None]:
    """``host[:port]`` → host and port; IPv6 addresses take a port only in brackets."""
    if _is_ip(entry.strip("[]")):
        return entry.strip("[]"), None
    host, sep, port = entry.rpartition(":")
    if sep and port.isdigit() and not host.endswith(":"):
        return host.strip("[]"), int(port)
    return entry.strip("[]"), None


def _entry_matches(entry: str, host: str, port: int) -> bool:
    pattern, entry_port = _split_entry(entry)
    if entry_port is not None and entry_port != port:
        return False
    if pattern.startswith("*."):
        return host.endswith(pattern[1:]) and len(host) > len(pattern) - 1
    return host == pattern


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def is_internal(address: str) -> bool:
    """Whether ``address`` is loopback, private, link-local, multicast, reserved or unspecified."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (what the connection may use)."""
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise DownloadRefused(f"cannot resolve host {host}") from exc
    return sorted({str(info[4][0]) for info in infos})


def redact(url: str) -> str:
    """``url`` without its query string and fragment (Intercom signs its URLs there)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unreadable URL>"
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", ""))[:300]


@dataclass
class AttachmentStore:
    """A folder of downloaded files named by their SHA-256, so a file is kept once."""

    root: Path

    def save(self, data: bytes, extension: str) -> Path:
        """Write ``data`` (if new) and return its path."""
        digest = hashlib.sha256(data).hexdigest()
        path = self.root / digest[:2] / f"{digest}{extension}"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(path.suffix + ".part")
            tmp.write_bytes(data)
            tmp.replace(path)
        return path


@dataclass
class ImageDownloader:
    """Downloads images under a :class:`DownloadPolicy` into an :class:`AttachmentStore`."""

    store: AttachmentStore
    policy: DownloadPolicy = field(default_factory=DownloadPolicy)
    resolver: Resolver = system_resolver
    session: requests.Session = field(init=False, repr=False)

    def __post_init__(self) -> None:
        import requests

        self.session = requests.Session()
        self.session.trust_env = False
        adapter = _guarded_adapter_class()(self.check_peer)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def close(self) -> None:
        """Close the pooled connections."""
        self.session.close()

    def fetch(self, url: str, name: str | None = None) -> Attachment:
        """Download ``url``; on any failure return a placeholder whose ``error`` says why."""
        try:
            data, content_type, extension = self._download(url)
        except DownloadRefused as exc:
            log.info("image not kept (%s): %s", redact(url), exc)
            return Attachment(url=url, name=name, error=str(exc))
        path = self.store.save(data, extension)
        return Attachment(url, name, content_type, len(data), str(path))

    def fetch_all(self, images: Iterable[tuple[str, str | None]], limit: int) -> list[Attachment]:
        """Fetch each ``(url, name)`` once per URL, up to ``limit``; the rest become
        placeholders saying so."""
        unique = list(dict(images).items())
        kept = [self.fetch(url, name) for url, name in unique[:limit]]
        error = f"more than {limit} images in one message"
        return kept + [Attachment(url, name, error=error) for url, name in unique[limit:]]

    def _download(self, url: str) -> tuple[bytes, str, str]:
        deadline = time.monotonic() + self.policy.timeout
        for _ in range(self.policy.max_redirects + 1):
            self._check_url(url)
            response = self._get(url, deadline)
            with response:
                if response.is_redirect:
                    url = urljoin(url, response.headers.get("Location", ""))
                    continue
                return self._read_image(response, deadline)
        raise DownloadRefused(f"more than {self.policy.max_redirects} redirects")

    def _check_url(self, url: str) -> None:
        """Refuse a URL whose scheme, host or resolved addresses the policy does not allow."""
        try:
            parts = urlsplit(url.strip())
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as exc:
            raise DownloadRefused("unreadable URL") from exc
        host = (parts.hostname or "").rstrip(".")
        if parts.scheme not in self.policy.schemes:
            raise DownloadRefused(f"scheme {parts.scheme or 'none'!r} is not allowed")
        if not host or parts.username or parts.password:
            raise DownloadRefused("URL has no host or carries credentials")
        if not self.policy.permits(host, port):
            raise DownloadRefused(f"host {host} is not on the image host allow-list")
        if not self.policy.trusts_internal(host, port):
            internal = [a for a in self.resolver(host, port) if is_internal(a)]
            if internal:
                raise DownloadRefused(f"host {host} resolves to an internal address")

    def check_peer(self, host: str, port: int, address: str) -> None:
        """Refuse a socket that connected to an internal address the policy does not trust.

        Called by the connection itself, before TLS or the request: DNS may answer differently
        to the connection than it did to :meth:`_check_url` (a rebinding attack).
        """
        if is_internal(address) and not self.policy.trusts_internal(host, port):
            raise DownloadRefused(f"host {host} connected to an internal address")

    def _get(self, url: str, deadline: float) -> requests.Response:
        import requests

        remaining = max(0.01, deadline - time.monotonic())
        try:
            response = self.session.get(
                url,
                stream=True,
                allow_redirects=False,
                timeout=(remaining, remaining),
                headers={"Accept-Encoding": "identity"},
            )
        except requests.Timeout as exc:
            raise DownloadRefused(f"timed out after {self.policy.timeout:g} s") from exc
        except requests.RequestException as exc:
            raise DownloadRefused(f"connection failed ({type(exc).__name__})") from exc
        if response.status_code >= 400:
            response.close()
            raise DownloadRefused(f"HTTP {response.status_code}")
        return response

    def _read_image(self, response: requests.Response, deadline: float) -> tuple[bytes, str, str]:
        import urllib3

        cap = self.policy.max_bytes
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > cap:
            raise DownloadRefused(f"larger than the {cap} byte cap")
        chunks: list[bytes] = []
        size = 0
        try:
            while chunk := self._read_chunk(response, deadline):
                size += len(chunk)
                if size > cap:
                    raise DownloadRefused(f"larger than the {cap} byte cap")
                chunks.append(chunk)
        except (OSError, urllib3.exceptions.HTTPError) as exc:
            raise DownloadRefused(f"download interrupted ({type(exc).__name__})") from exc
        data = b"".join(chunks)
        content_type, extension = sniff_image(data)
        return data, content_type, extension

    def _read_chunk(self, response: requests.Response, deadline: float) -> bytes:
        """One read of at most 64 KiB, never waiting past ``deadline`` (a slow drip is cut).

        Bytes are read as sent: a compressed body is never inflated (no decompression bomb) and
        fails the image check instead.
        """
        import urllib3

        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise DownloadRefused(f"timed out after {self.policy.timeout:g} s")
        sock = getattr(getattr(response.raw, "connection", None), "sock", None)
        if sock is not None:
            sock.settimeout(remaining)
        try:
            return response.raw.read1(64 * 1024, decode_content=False)
        except (TimeoutError, urllib3.exceptions.TimeoutError) as exc:
            raise DownloadRefused(f"timed out after {self.policy.timeout:g} s") from exc


PeerCheck = Callable[[str, int, str], None]


def _guarded(base: type[HTTPConnection], check: PeerCheck) -> type[HTTPConnection]:
    """A connection class that runs ``check(host, port, peer address)`` on every new socket."""

    class Guarded(base):  # type: ignore[valid-type,misc]
        def _new_conn(self) -> socket.socket:
            sock = super()._new_conn()
            try:
                check(self.host, self.port, str(sock.getpeername()[0]))
            except BaseException:
                sock.close()
                raise
            return sock

    return Guarded


@functools.cache
def _guarded_adapter_class() -> type[Any]:
    """The requests adapter class whose connections check the address they actually connected
    to (made on first use, so importing this module doesn't import requests)."""
    from requests.adapters import HTTPAdapter
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

    class GuardedAdapter(HTTPAdapter):
        def __init__(self, check: PeerCheck) -> None:
            self._check = check
            super().__init__(max_retries=0)

        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            pools = {
                "http": (HTTPConnectionPool, HTTPConnection),
                "https": (HTTPSConnectionPool, HTTPSConnection),
            }
            self.poolmanager.pool_classes_by_scheme = {
                scheme: type(
                    f"Guarded{pool.__name__}",
                    (pool,),
                    {"ConnectionCls": _guarded(conn, self._check)},
                )
                for scheme, (pool, conn) in pools.items()
            }

    return GuardedAdapter


def sniff_image(data: bytes) -> tuple[str, str]:
    """The content type and file extension of an image, from its first bytes (never the URL)."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", ".webp"
    for magic, kind in IMAGE_TYPES.items():
        if data.startswith(magic):
            return kind
    raise DownloadRefused("not a PNG, JPEG, GIF or WebP image")
