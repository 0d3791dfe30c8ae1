"""The resolver of a service network: every name it is asked is answered "no such name"
(NXDOMAIN) and written to a log, one per line.

A network namespace has no resolver, and a lookup there fails as *temporary*, which the AWS
SDKs retry for minutes; the engine's network answers names it does not know at once. Run as
`python3 dns.py LOG` inside the namespace; the service hostnames come from /etc/hosts."""

import socket
import sys


def question(packet: bytes) -> tuple[str, int]:
    """The queried name, and where the question section ends."""
    labels, at = [], 12
    while at < len(packet) and packet[at]:
        length = packet[at]
        labels.append(packet[at + 1 : at + 1 + length].decode(errors="replace"))
        at += 1 + length
    return ".".join(labels), at + 5  # the root label, QTYPE and QCLASS


def answer(packet: bytes, end: int) -> bytes:
    """The query back with QR, RD as asked, RA and RCODE 3 (NXDOMAIN); one question, no records."""
    flags = (0x8000 | (packet[2] & 0x01) << 8 | 0x0080 | 3).to_bytes(2, "big")
    return packet[:2] + flags + b"\0\1\0\0\0\0\0\0" + packet[12:end]


def main(log_path: str) -> None:
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", 53))
    with open(log_path, "a", buffering=1) as log:
        while True:
            packet, client = server.recvfrom(4096)
            if len(packet) < 12:
                continue
            name, end = question(packet)
            log.write(name + "\n")
            server.sendto(answer(packet, end), client)


if __name__ == "__main__":
    main(sys.argv[1])
