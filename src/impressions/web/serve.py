"""bin/serve (``python -m impressions.web``): load a finished run's models once, then serve the
page on 127.0.0.1.

bin/serve [--configfile mine.yaml ...] [--port 8050] [--host 127.0.0.1] [--results results]
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import sys

from impressions.io.errors import InputError
from impressions.web.app import create_app
from impressions.web.config import dataset_configs, run_config
from impressions.web.runs import load_served

log = logging.getLogger("impressions.web")


def arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bin/serve", description="The web page: bring a clip, see what the trained models heard.")
    parser.add_argument("--configfile", nargs="+", default=[], help="config files laid over config.yaml, as given to bin/run")
    parser.add_argument("--results", default="results", help="the run's results folder (default: results)")
    parser.add_argument("--port", type=int, help="port (default: serve.port of the config)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on; another than loopback exposes the page to the network")
    return parser.parse_args(argv)


def exposed(host: str) -> bool:
    """Whether listening on `host` lets other machines reach the page (anything but loopback)."""
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host != "localhost"


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="impressions serve: %(levelname)s %(message)s")
    args = arguments(sys.argv[1:] if argv is None else argv)
    try:
        config = run_config(args.configfile)
        served = load_served(dataset_configs(config), args.results)
    except InputError as error:
        log.error("%s", error)
        return 1
    if not served:
        log.warning("no trained model found under %s/: run bin/run first; the page says so", args.results)
    if exposed(args.host):
        log.warning("listening on %s: anyone who can reach this machine can upload clips to the page", args.host)
    settings = config["serve"]
    app = create_app(served, max_upload_mb=settings["max_upload_mb"], max_duration_s=settings["max_duration_s"])
    app.run(host=args.host, port=args.port or settings["port"], threaded=True)
    return 0
