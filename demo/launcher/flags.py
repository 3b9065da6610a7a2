"""``demo/run.py``'s flags: a bad value is refused with its rule before anything starts."""

from __future__ import annotations

import argparse
import os

MAX_PRODUCTS = 1_000_000


def positive_products(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= MAX_PRODUCTS:
        raise argparse.ArgumentTypeError(f"choose between 1 and {MAX_PRODUCTS}")
    return value


def port_number(text: str, *, lowest: int = 1) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not lowest <= value <= 65535:
        raise argparse.ArgumentTypeError(f"a port is between {lowest} and 65535")
    return value


def redis_port(text: str) -> int:
    return port_number(text, lowest=0)


def parse_args(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--port",
        type=port_number,
        default=os.environ.get("DEMO_PORT", "8000"),
        help="port of the web server on 127.0.0.1, 1-65535 (default 8000, or $DEMO_PORT)",
    )
    parser.add_argument(
        "--redis-port",
        type=redis_port,
        default=0,
        help="port for the Redis it starts (default 0: any free port)",
    )
    parser.add_argument(
        "--products", type=positive_products, default=5000, help="catalogue size (default 5000)"
    )
    parser.add_argument("--no-warm", action="store_true", help="skip warm_cache --all")
    parser.add_argument(
        "--cluster",
        action="store_true",
        help="put the cache on a local Redis Cluster of 3 primaries and 3 replicas",
    )
    parser.add_argument(
        "--no-install",
        action="store_true",
        default=os.environ.get("DEMO_NO_INSTALL") == "1",
        help="use the current interpreter and its packages (no .venv, no pip)",
    )
    parser.add_argument("--var-dir", help="where the database lives (default demo/var)")
    return parser.parse_args()
