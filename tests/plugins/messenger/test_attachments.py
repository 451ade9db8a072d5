"""The image downloader's guards: the allow-list, internal addresses (also after DNS changes and
redirects), and the content check."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from deskmate.core.attachments import (
    AttachmentStore,
    DownloadPolicy,
    DownloadRefused,
    ImageDownloader,
    is_internal,
    redact,
    sniff_image,
)

if TYPE_CHECKING:
    from conftest import ImageServer


def downloader(tmp_path: Path, hosts: tuple[str, ...], **resolved: list[str]) -> ImageDownloader:
    """A downloader over plain HTTP whose DNS answers come from ``resolved``."""
    policy = DownloadPolicy(hosts=hosts, schemes=frozenset({"http", "https"}), timeout=1.0)

    def resolver(host: str, port: int) -> list[str]:
        return resolved[host.replace(".", "_")]

    return ImageDownloader(AttachmentStore(tmp_path / "store"), policy, resolver)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "::1",
        "fe80::1%eth0",
        "fc00::1",
        "::ffff:127.0.0.1",
    ],
)
def test_internal_addresses_are_recognised(address: str) -> None:
    assert is_internal(address)


@pytest.mark.parametrize("address", ["8.8.8.8", "151.101.1.1", "2606:4700::1111"])
def test_public_addresses_are_not_internal(address: str) -> None:
    assert not is_internal(address)


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("downloads.intercomcdn.com", True),
        ("acme-1a2b.intercom-attachments-7.com", True),
        ("intercom-attachments-7.com", False),
        ("intercom-attachments-7.com.evil.test", False),
        ("evil-intercom-attachments-7.com", False),
        ("downloads.intercomcdn.com.evil.test", False),
        ("127.0.0.1", False),
        ("localhost", False),
    ],
)
def test_the_default_allow_list_matches_intercom_hosts_only(host: str, allowed: bool) -> None:
    assert DownloadPolicy().permits(host, 443) is allowed


def test_a_port_in_an_entry_must_match() -> None:
    policy = DownloadPolicy(hosts=("127.0.0.1:8765",))
    assert policy.permits("127.0.0.1", 8765)
    assert not policy.permits("127.0.0.1", 8766)
    assert policy.trusts_internal("127.0.0.1", 8765)
    assert not DownloadPolicy(hosts=("localhost:8765",)).trusts_internal("localhost", 8765)


@pytest.mark.parametrize(
    ("entry", "host", "port", "allowed"),
    [
        ("[::1]:8765", "::1", 8765, True),
        ("[::1]:8765", "::1", 8766, False),
        ("2001:db8:0:0:0:0:0:5", "2001:db8:0:0:0:0:0:5", 443, True),
        ("fe80::1", "fe80::1", 80, True),
    ],
)
def test_ipv6_entries_take_a_port_only_in_brackets(
    entry: str, host: str, port: int, allowed: bool
) -> None:
    assert DownloadPolicy(hosts=(entry,)).permits(host, port) is allowed


def test_an_allowed_name_that_resolves_to_loopback_is_refused_before_connecting(
    tmp_path: Path, image_server: ImageServer
) -> None:
    fetcher = downloader(tmp_path, ("*.cdn.test",), img_cdn_test=["203.0.113.9", "127.0.0.1"])
    image = fetcher.fetch(f"http://img.cdn.test:{image_server.port}/image.png")
    assert image.error == "host img.cdn.test resolves to an internal address"
    assert sum(image_server.hits.values()) == 0


def test_a_redirect_to_an_allowed_name_on_an_internal_address_is_refused(
    tmp_path: Path, image_server: ImageServer
) -> None:
    hosts = (image_server.origin, "*.cdn.test")
    fetcher = downloader(tmp_path, hosts, img_cdn_test=["127.0.0.1"])
    target = f"http://img.cdn.test:{image_server.port}/image.png"
    image = fetcher.fetch(image_server.url(f"/redirect?to={target}"))
    assert image.error == "host img.cdn.test resolves to an internal address"
    assert image_server.hits["/image.png"] == 0


def test_a_connection_that_lands_on_an_internal_address_is_not_read(
    tmp_path: Path, image_server: ImageServer
) -> None:
    """DNS said public, the socket says loopback (a rebinding attack): nothing is kept."""
    fetcher = downloader(tmp_path, (f"localhost:{image_server.port}",), localhost=["8.8.8.8"])
    image = fetcher.fetch(f"http://localhost:{image_server.port}/image.png")
    assert image.error == "host localhost connected to an internal address"
    assert image.local_path is None
    assert not (tmp_path / "store").exists()


def test_https_connections_are_checked_before_the_tls_handshake(
    tmp_path: Path, image_server: ImageServer
) -> None:
    """The loopback server speaks plain HTTP, so only a check made before TLS gives this reason."""
    fetcher = downloader(tmp_path, (f"localhost:{image_server.port}",), localhost=["8.8.8.8"])
    image = fetcher.fetch(f"https://localhost:{image_server.port}/image.png")
    assert image.error == "host localhost connected to an internal address"


def test_redirect_loops_stop(tmp_path: Path, image_server: ImageServer) -> None:
    fetcher = downloader(tmp_path, (image_server.origin,))
    url = image_server.url("/redirect?to=/redirect?to=/redirect?to=/redirect?to=/image.png")
    assert fetcher.fetch(url).error == "more than 3 redirects"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://downloads.intercomcdn.com/a.png", "scheme 'ftp' is not allowed"),
        ("data:image/png;base64,AAAA", "scheme 'data' is not allowed"),
        ("https://user:pw@downloads.intercomcdn.com/a.png", "carries credentials"),
        ("https://[::1/a.png", "unreadable URL"),
        ("https:///a.png", "no host"),
        ("https://evil.test/a.png", "host evil.test is not on the image host allow-list"),
    ],
)
def test_malformed_and_hostile_urls_are_refused_with_the_reason(
    tmp_path: Path, url: str, reason: str
) -> None:
    fetcher = ImageDownloader(AttachmentStore(tmp_path))
    image = fetcher.fetch(url)
    assert reason in (image.error or "")
    assert image.local_path is None


def test_images_are_recognised_by_their_bytes_not_their_name() -> None:
    assert sniff_image(b"\xff\xd8\xff\xe0rest") == ("image/jpeg", ".jpg")
    assert sniff_image(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == ("image/webp", ".webp")
    with pytest.raises(DownloadRefused):
        sniff_image(b"<svg xmlns='http://www.w3.org/2000/svg'/>")


def test_the_store_keeps_one_file_per_content(tmp_path: Path) -> None:
    store = AttachmentStore(tmp_path)
    first = store.save(b"same bytes", ".png")
    assert store.save(b"same bytes", ".png") == first
    assert first.read_bytes() == b"same bytes"
    assert len(list(tmp_path.rglob("*.png"))) == 1


def test_redacted_urls_keep_host_and_path_only() -> None:
    url = "https://u:p@downloads.intercomcdn.com/i/o/1/a.png?expires=1&signature=abc#x"
    assert redact(url) == "https://downloads.intercomcdn.com/i/o/1/a.png"
