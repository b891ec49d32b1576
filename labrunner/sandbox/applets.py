"""busybox's network applets in simulated containers: wget, nslookup, nc.

Each asks the sandbox's :class:`~labrunner.sandbox.network.Network`, so what it
prints is what the policies decide, in busybox's own words: ``wget: download
timed out`` under a deny policy, ``;; connection timed out; no servers could be
reached`` when egress isolation cuts DNS. Waiting is part of the lesson, so a
timeout takes its time (scaled by ``LABRUNNER_SANDBOX_TIME_SCALE`` for tests).
"""

from __future__ import annotations

import re
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from labrunner.sandbox.network import KUBE_DNS, Network
from labrunner.sandbox.webapps import NOT_HTTP, REASONS, Response, serve

RESOLVER_TIMEOUT = 5.0
WGET_DEFAULT_TIMEOUT = 900.0


class Outcome:
    def __init__(self, stdout: str = "", stderr: str = "", exit_code: int = 0, delay: float = 0.0) -> None:
        self.stdout, self.stderr, self.exit_code, self.delay = stdout, stderr, exit_code, delay


WGET_USAGE = ("BusyBox v1.36.1 (2023-05-18 22:34:17 UTC) multi-call binary.\n\nUsage: wget [-cqS] [--spider] [-O FILE] [-o LOGFILE] "
              "[--header STR]\n\t[--post-data STR | --post-file FILE] [-Y on/off]\n\t[-P DIR] [-U AGENT] [-T SEC] URL...\n")
_WGET_FLAGS = {"c": "continue", "q": "quiet", "S": "server-response"}
_WGET_VALUED = {"O": "output-document", "o": "output-file", "P": "directory-prefix", "Y": "proxy", "U": "user-agent", "T": "timeout"}
_WGET_LONG_FLAGS = {"quiet", "spider", "continue", "server-response", "no-check-certificate", "no-verbose"}
_WGET_LONG_VALUED = {"output-document", "output-file", "directory-prefix", "proxy", "user-agent", "timeout", "header",
                     "post-data", "post-file", "tries"}


def wget_options(args: list[str]) -> tuple[dict[str, str], list[str]] | str:
    """busybox wget's options as its getopt reads them (``-qO-``, ``-qO file``, ``-T5``,
    ``--timeout=5``, ``--output-document file``): the options by long name and the URLs, or
    the error text busybox prints."""
    options: dict[str, str] = {}
    urls: list[str] = []
    index = 0
    while index < len(args):
        argument = args[index]
        index += 1
        if argument == "--":
            urls += args[index:]
            break
        if argument.startswith("--"):
            name, has_value, value = argument[2:].partition("=")
            if name in _WGET_LONG_FLAGS and not has_value:
                options[name] = ""
            elif name in _WGET_LONG_VALUED:
                if not has_value:
                    if index >= len(args):
                        return f"wget: option '--{name}' requires an argument\n" + WGET_USAGE
                    value, index = args[index], index + 1
                options[name] = f"{options[name]}\n{value}" if name == "header" and name in options else value
            else:
                return f"wget: unrecognized option '{argument}'\n" + WGET_USAGE
            continue
        if not argument.startswith("-") or argument == "-":
            urls.append(argument)
            continue
        letters = argument[1:]
        while letters:
            letter, letters = letters[0], letters[1:]
            if letter in _WGET_FLAGS:
                options[_WGET_FLAGS[letter]] = ""
            elif letter in _WGET_VALUED:
                if not letters:
                    if index >= len(args):
                        return f"wget: option requires an argument -- '{letter}'\n" + WGET_USAGE
                    letters, index = args[index], index + 1
                options[_WGET_VALUED[letter]] = letters
                letters = ""
            else:
                return f"wget: invalid option -- '{letter}'\n" + WGET_USAGE
    return options, urls


def wget(args: list[str], pod: dict[str, Any], network: Network, data_root: Path, files: MutableMapping[str, bytes] | None = None) -> Outcome:
    """busybox wget: the page to stdout with ``-O -``, otherwise saved in the container's
    files (``index.html`` or the URL's file name, in the working folder or ``-P DIR``)."""
    parsed = wget_options(args)
    if isinstance(parsed, str):
        return Outcome(stderr=parsed, exit_code=1)
    options, urls = parsed
    quiet, spider, output = "quiet" in options, "spider" in options, options.get("output-document")
    try:
        timeout = float(options.get("timeout", WGET_DEFAULT_TIMEOUT))
    except ValueError:
        return Outcome(stderr=f"wget: invalid number '{options['timeout']}'\n", exit_code=1)
    url = urls[0] if urls else None
    if url is None:
        return Outcome(stderr=WGET_USAGE, exit_code=1)
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.scheme not in ("http", "https"):
        return Outcome(stderr=f"wget: not an http or ftp url: {url}\n", exit_code=1)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    address, _, dns_reachable = network.resolve(pod, host)
    if address is None:
        return Outcome(stderr=f"wget: bad address '{host}'\n", exit_code=1, delay=0.0 if dns_reachable else min(RESOLVER_TIMEOUT, timeout))
    progress = "" if quiet else f"Connecting to {host} ({address}:{port})\n"
    connection = network.connect(pod, address, "TCP", port)
    if connection.outcome == "timeout":
        return Outcome(stderr=progress + "wget: download timed out\n", exit_code=1, delay=timeout)
    if connection.outcome != "connected" or (connection.pod is None and not connection.outside):
        return Outcome(stderr=progress + f"wget: can't connect to remote host ({address}): Connection refused\n", exit_code=1)
    if parts.scheme == "https":
        return Outcome(stderr=progress + "wget: TLS is not simulated by the labrunner sandbox yet\n", exit_code=1)
    sent = {"Host": host}
    for header in options.get("header", "").split("\n") if "header" in options else []:
        name, _, value = header.partition(":")
        sent = {key: kept for key, kept in sent.items() if key.lower() != name.strip().lower()}
        sent[name.strip()] = value.strip()
    response = fetch(connection, pod, path, network, data_root, "Wget", sent)
    if response.status == NOT_HTTP:
        return Outcome(stderr=progress + "wget: error getting response: Connection reset by peer\n", exit_code=1, delay=response.delay)
    if response.delay >= timeout:
        return Outcome(stderr=progress + "wget: download timed out\n", exit_code=1, delay=timeout)
    if response.status >= 400:
        reason = response.reason or REASONS.get(response.status, "Error")
        return Outcome(stderr=progress + f"wget: server returned error: HTTP/1.1 {response.status} {reason}\n", exit_code=1, delay=response.delay)
    if spider:
        return Outcome(stderr="" if quiet else progress + "remote file exists\n", delay=response.delay)
    target = output if output is not None else (Path(path).name or "index.html")
    if target == "-":
        return Outcome(stdout=response.body.decode(errors="replace"), stderr="" if quiet else progress + "writing to stdout\n" + "-" * 20 + "\n", delay=response.delay)
    if output is None and "directory-prefix" in options:
        target = f"{options['directory-prefix'].rstrip('/')}/{target}"
    where = target if target.startswith("/") else f"/{target}"  # the image's working folder is /
    if files is not None:
        if output is None and where in files:
            return Outcome(stderr=progress + f"wget: can't open '{target}': File exists\n", exit_code=1, delay=response.delay)
        try:
            files[where] = response.body
        except OSError as error:
            return Outcome(stderr=progress + f"wget: can't open '{target}': {error.strerror}\n", exit_code=1, delay=response.delay)
    saved = "" if quiet else progress + f"saving to '{target}'\n{target:<20} 100% |********************************| {len(response.body)}  0:00:00 ETA\n'{target}' saved\n"
    return Outcome(stderr=saved, delay=response.delay)


def nslookup(args: list[str], pod: dict[str, Any], network: Network) -> Outcome:
    """``nslookup [-timeout=SECS] [-retry=N] NAME``: busybox waits timeout x (retries + 1)
    when no server answers (defaults 5 s and 2 retries)."""
    timeout, retries = RESOLVER_TIMEOUT, 2
    for argument in args:
        if argument.startswith("-timeout=") and argument.split("=", 1)[1].isdigit():
            timeout = float(argument.split("=", 1)[1])
        elif argument.startswith("-retry=") and argument.split("=", 1)[1].isdigit():
            retries = int(argument.split("=", 1)[1])
    names = [a for a in args if not a.startswith("-")]
    if not names:
        return Outcome(stderr="BusyBox v1.36.1 multi-call binary.\n\nUsage: nslookup [-type=QUERY_TYPE] [-debug] HOST [DNS_SERVER]\n", exit_code=1)
    name = names[0]
    found = network.dns_lookup(pod, name)
    waited = timeout * (retries + 1)
    if not found.reachable or found.delay >= waited:  # a server slower than every retry is none
        return Outcome(stdout=";; connection timed out; no servers could be reached\n\n", exit_code=1, delay=waited)
    header = f"Server:\t\t{KUBE_DNS}\nAddress:\t{KUBE_DNS}:53\n\n"
    reply = found.reply
    if not reply.found:
        return Outcome(stdout=header + f"** server can't find {found.name}: {reply.rcode}\n\n", exit_code=1, delay=found.delay)
    lines = []
    for record in reply.answer:
        if record.type == "CNAME":
            lines.append(f"{record.name.rstrip('.')}\tcanonical name = {record.value.rstrip('.')}")
        elif record.type == "A":
            lines += [f"Name:\t{record.name.rstrip('.')}", f"Address: {record.value}"]
        elif record.type == "PTR":
            lines.append(f"{record.name.rstrip('.')}\tname = {record.value.rstrip('.')}")
    # an answer CoreDNS forwarded is not its own
    forwarded = "" if reply.authoritative else "Non-authoritative answer:\n"
    return Outcome(stdout=header + forwarded + "\n".join(lines) + "\n\n", delay=found.delay)


def nc(args: list[str], pod: dict[str, Any], network: Network) -> Outcome:
    verbose = any(a in ("-v", "-zv", "-vz") for a in args)
    udp = any("u" in a.lstrip("-") for a in args if a.startswith("-") and not a.startswith("-w"))
    wait = 0.0
    operands: list[str] = []
    arguments = iter(args)
    for argument in arguments:
        if argument == "-w":
            wait = float(next(arguments, "0"))
        elif re.fullmatch(r"-w\d+", argument):
            wait = float(argument[2:])
        elif not argument.startswith("-"):
            operands.append(argument)
    if len(operands) < 2 or not operands[1].isdigit():
        return Outcome(stderr="BusyBox v1.36.1 multi-call binary.\n\nUsage: nc [OPTIONS] HOST PORT  - connect\n", exit_code=1)
    host, port = operands[0], int(operands[1])
    address, _, dns_reachable = network.resolve(pod, host)
    if address is None:
        return Outcome(stderr=f"nc: bad address '{host}'\n", exit_code=1, delay=0.0 if dns_reachable else RESOLVER_TIMEOUT)
    if udp:
        return Outcome(stderr=f"{host} ({address}:{port}) open\n" if verbose else "")
    connection = network.connect(pod, address, "TCP", port)
    if connection.outcome == "connected":
        return Outcome(stderr=f"{host} ({address}:{port}) open\n" if verbose else "")
    if connection.outcome == "timeout":
        return Outcome(stderr=f"nc: {host} ({address}:{port}): Connection timed out\n", exit_code=1, delay=wait or 75.0)
    return Outcome(stderr=f"nc: {host} ({address}:{port}): Connection refused\n", exit_code=1)


def ping(args: list[str], pod: dict[str, Any], network: Network) -> Outcome:
    count, operands = 4, []
    arguments = iter(args)
    for argument in arguments:
        if argument == "-c":
            count = int(next(arguments, "4"))
        elif argument.startswith("-c") and argument[2:].isdigit():
            count = int(argument[2:])
        elif not argument.startswith("-"):
            operands.append(argument)
    if not operands:
        return Outcome(stderr="BusyBox v1.36.1 multi-call binary.\n\nUsage: ping [OPTIONS] HOST\n", exit_code=1)
    host = operands[0]
    address, _, dns_reachable = network.resolve(pod, host)
    if address is None:
        return Outcome(stderr=f"ping: bad address '{host}'\n", exit_code=1, delay=0.0 if dns_reachable else RESOLVER_TIMEOUT)
    lines = [f"PING {host} ({address}): 56 data bytes"]
    replied = network.ping(pod, address)
    if replied:
        lines += [f"64 bytes from {address}: seq={n} ttl=64 time=0.08{n % 10} ms" for n in range(count)]
    lines += ["", f"--- {host} ping statistics ---",
              f"{count} packets transmitted, {count if replied else 0} packets received, {0 if replied else 100}% packet loss"]
    if replied:
        lines.append("round-trip min/avg/max = 0.080/0.082/0.085 ms")
    return Outcome(stdout="\n".join(lines) + "\n", exit_code=0 if replied else 1, delay=float(count))


def curl(args: list[str], pod: dict[str, Any], network: Network, data_root: Path) -> Outcome:
    """curl's common forms: ``curl [-s] [-S] [-f] [-I] [-o FILE] [-m SECONDS] URL``."""
    silent, fail, head, output, max_time, url, follow = False, False, False, None, 0.0, None, False
    extra_headers: dict[str, str] = {}
    arguments = iter(args)
    for argument in arguments:
        if argument in ("-s", "--silent"):
            silent = True
        elif argument in ("-f", "--fail"):
            fail = True
        elif argument in ("-I", "--head"):
            head = True
        elif argument in ("-o", "--output"):
            output = next(arguments, None)
        elif argument in ("-H", "--header"):
            name, _, value = str(next(arguments, "")).partition(":")
            extra_headers[name.strip()] = value.strip()
        elif argument in ("-m", "--max-time", "--connect-timeout"):
            max_time = float(next(arguments, "0"))
        elif argument.startswith("-") and set(argument[1:]) <= set("sSfvLkI"):
            silent = silent or "s" in argument
            fail = fail or "f" in argument
            head = head or "I" in argument
            follow = follow or "L" in argument
        elif argument == "--location":
            follow = True
        elif not argument.startswith("-"):
            url = argument
    if url is None:
        return Outcome(stderr="curl: try 'curl --help' or 'curl --manual' for more information\n", exit_code=2)
    parts = urlsplit(url if "://" in url else f"http://{url}")
    host, port, path = parts.hostname or "", parts.port or 80, (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    address, _, dns_reachable = network.resolve(pod, host)
    if address is None:
        return Outcome(stderr="" if silent else f"curl: (6) Could not resolve host: {host}\n", exit_code=6,
                       delay=0.0 if dns_reachable else RESOLVER_TIMEOUT)
    connection = network.connect(pod, address, "TCP", port)
    if connection.outcome == "timeout":
        waited = max_time or 130.0
        return Outcome(stderr="" if silent else f"curl: (28) Failed to connect to {host} port {port} after {int(waited * 1000)} ms: Timeout was reached\n",
                       exit_code=28, delay=waited)
    if connection.outcome != "connected" or (connection.pod is None and not connection.outside):
        return Outcome(stderr="" if silent else f"curl: (7) Failed to connect to {host} port {port} after 0 ms: Couldn't connect to server\n", exit_code=7)
    sent = {"Host": host if port == 80 else f"{host}:{port}"}
    for name, value in extra_headers.items():
        sent = {key: kept for key, kept in sent.items() if key.lower() != name.lower()}
        sent[name] = value
    response = fetch(connection, pod, path, network, data_root, "curl/8.11.0", sent, method="HEAD" if head else "GET", follow=follow)
    if response.status == NOT_HTTP:
        said = "(1) Received HTTP/0.9 when not allowed" if response.body == b"greeting" else "(52) Empty reply from server"
        return Outcome(stderr="" if silent else f"curl: {said}\n", exit_code=int(said[1:said.index(")")]), delay=response.delay)
    if max_time and response.delay >= max_time:
        return Outcome(stderr="" if silent else f"curl: (28) Operation timed out after {int(max_time * 1000)} milliseconds with 0 bytes received\n",
                       exit_code=28, delay=max_time)
    if fail and response.status >= 400:
        return Outcome(stderr="" if silent else f"curl: (22) The requested URL returned error: {response.status}\n", exit_code=22, delay=response.delay)
    if head:
        reason = response.reason or REASONS.get(response.status, "Error")
        extra = "".join(f"{key}: {value}\r\n" for key, value in response.headers if key.lower() != "content-type")
        kind = next((value for key, value in response.headers if key.lower() == "content-type"), "text/html")
        return Outcome(stdout=f"HTTP/1.1 {response.status} {reason}\r\nContent-Length: {len(response.body)}\r\nContent-Type: {kind}\r\n"
                              f"{extra}\r\n", delay=response.delay)
    if output and output != "-":
        return Outcome(delay=response.delay)
    return Outcome(stdout=response.body.decode(errors="replace"), delay=response.delay)


def fetch(connection: Any, client: dict[str, Any], path: str, network: Network, data_root: Path, agent: str, headers: dict[str, str],
          method: str = "GET", follow: bool = True) -> Response:
    """One request to the pod that accepted ``connection``, written to its access log; redirects
    to the same server followed as busybox wget does (curl only with ``-L``)."""
    from urllib.parse import urlsplit

    if connection.outside:
        return outside_page(connection.address, headers.get("Host", connection.address))
    delay = 0.0
    for _ in range(20):
        response = serve(connection.pod, path, network, data_root, port=connection.target or connection.port, client=client,
                         method=method, headers={**headers, "User-Agent": agent})
        delay += response.delay
        if response.status != NOT_HTTP and not response.logged:
            network.access_log(connection.pod, client, method, path, response.status, len(response.body), agent)
        location = next((value for key, value in response.headers if key.lower() == "location"), None)
        if not follow or response.status not in (301, 302, 303, 307, 308) or location is None:
            break
        target = urlsplit(location)
        path = (target.path or "/") + (f"?{target.query}" if target.query else "")
    if response.status == NOT_HTTP:
        found = network.listener(connection.pod, "TCP", connection.target or connection.port)
        talks_first = found is not None and found[1].image.does in ("mysql", "redis", "postgres", "memcached")
        return Response(NOT_HTTP, b"greeting" if talks_first else b"", delay)
    return Response(response.status, response.body, delay, response.headers, reason=response.reason)


def outside_page(address: str, host: str) -> Response:
    """What answers at an address outside the cluster: the sandbox has no internet, so it says
    the connection got through (no policy dropped it) and that the page is its own."""
    name = host.split(":")[0]
    body = (f"<html><body><p>labrunner sandbox: {address} stands for {name}, outside the cluster. The connection got through "
            f"(no NetworkPolicy dropped it); the sandbox has no internet, so this page is the sandbox's, not {name}'s.</p>"
            "</body></html>\n")
    return Response(200, body.encode(), headers=(("Content-Type", "text/html"),))
