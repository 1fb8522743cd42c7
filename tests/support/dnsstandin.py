"""A DNS server on 127.0.0.1 (UDP, a free port) for nginx's ``resolver``: it answers A queries
for the names it is given, NXDOMAIN for every other, and records every name asked for.

Only what nginx's resolver sends is understood: one question, no compression in it.
"""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Mapping
from typing import Self


def _question(packet: bytes) -> tuple[str, int, int]:
    """(name, qtype, end offset of the question) of a query."""
    labels = []
    at = 12
    while packet[at]:
        size = packet[at]
        labels.append(packet[at + 1 : at + 1 + size].decode("ascii", errors="replace"))
        at += 1 + size
    qtype = struct.unpack("!H", packet[at + 1 : at + 3])[0]
    return ".".join(labels), qtype, at + 5


class DnsStandIn:
    def __init__(self, records: Mapping[str, str]) -> None:
        self.records = {k.lower().rstrip("."): v for k, v in records.items()}
        self.asked: list[str] = []
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.settimeout(0.2)
        self.port: int = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _answer(self, packet: bytes) -> bytes:
        name, qtype, end = _question(packet)
        self.asked.append(name)
        address = self.records.get(name.lower().rstrip("."))
        found = address is not None and qtype == 1
        flags = 0x8180 if address is not None else 0x8183  # NXDOMAIN for unknown names
        header = packet[:2] + struct.pack("!HHHHH", flags, 1, 1 if found else 0, 0, 0)
        body = packet[12:end]
        if found:
            assert address is not None
            body += struct.pack("!HHHIH", 0xC00C, 1, 1, 1, 4) + socket.inet_aton(address)
        return header + body

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                packet, peer = self._sock.recvfrom(2048)
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                self._sock.sendto(self._answer(packet), peer)
            except (IndexError, struct.error):
                continue

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()
