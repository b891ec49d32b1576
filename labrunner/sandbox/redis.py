"""The simulated ``redis`` image's server and its ``redis-cli``.

Enough of Redis 7 for what learners type: PING, ECHO, SET (EX/PX/NX/XX), GET, DEL, EXISTS,
INCR/DECR/INCRBY/DECRBY, APPEND, STRLEN, KEYS, DBSIZE, FLUSHDB/FLUSHALL, EXPIRE/TTL/PERSIST,
TYPE, the list (LPUSH, RPUSH, LPOP, RPOP, LRANGE, LLEN) and hash (HSET, HGET, HGETALL, HDEL)
commands, SELECT, AUTH and INFO's server section. Keys live in a JSON file in the server pod's
data folder, so they last as long as the pod (the image's default RDB snapshots are not
modelled). The client connects through the sandbox's network like any other program, and
prints as redis-cli does when its output is not a terminal (raw replies, one per line).
"""

from __future__ import annotations

import fnmatch
import json
import time
from pathlib import Path
from typing import Any

VERSION = "7.4.1"


class ReplyError(Exception):
    pass


def _load(path: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        return {"keys": {}, "expires": {}}
    now = time.time()
    for key, moment in list(data.get("expires", {}).items()):
        if moment <= now:
            data["keys"].pop(key, None)
            del data["expires"][key]
    return data


def _number(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ReplyError("ERR value is not an integer or out of range") from None


def execute(data: dict[str, Any], words: list[str]) -> Any:
    """One command's reply: a str (status or bulk), int, list, None (nil); raises ReplyError."""
    keys: dict[str, Any] = data["keys"]
    expires: dict[str, float] = data["expires"]
    name = words[0].upper()
    args = words[1:]

    def arity(count: int, at_least: bool = False) -> None:
        if (len(args) < count) if at_least else (len(args) != count):
            raise ReplyError(f"ERR wrong number of arguments for '{words[0].lower()}' command")

    def string(key: str) -> str | None:
        value = keys.get(key)
        if value is not None and not isinstance(value, str):
            raise ReplyError("WRONGTYPE Operation against a key holding the wrong kind of value")
        return value

    if name == "PING":
        return args[0] if args else "PONG"
    if name == "ECHO":
        arity(1)
        return args[0]
    if name in ("SELECT", "AUTH"):
        return "OK"
    if name == "SET":
        arity(2, at_least=True)
        options = [word.upper() for word in args[2:]]
        if ("NX" in options and args[0] in keys) or ("XX" in options and args[0] not in keys):
            return None
        keys[args[0]] = args[1]
        expires.pop(args[0], None)
        for unit, scale in (("EX", 1.0), ("PX", 0.001)):
            if unit in options:
                position = options.index(unit) + 3
                if position >= len(args):
                    raise ReplyError("ERR syntax error")
                expires[args[0]] = time.time() + _number(args[position]) * scale
        return "OK"
    if name == "GET":
        arity(1)
        return string(args[0])
    if name in ("DEL", "UNLINK"):
        arity(1, at_least=True)
        gone = [key for key in args if keys.pop(key, None) is not None]
        for key in gone:
            expires.pop(key, None)
        return len(gone)
    if name == "EXISTS":
        arity(1, at_least=True)
        return sum(1 for key in args if key in keys)
    if name in ("INCR", "DECR", "INCRBY", "DECRBY"):
        arity(2 if name.endswith("BY") else 1)
        step = _number(args[1]) if name.endswith("BY") else 1
        current = string(args[0])
        try:
            value = int(current or "0")
        except ValueError:
            raise ReplyError("ERR value is not an integer or out of range") from None
        value += -step if name.startswith("DECR") else step
        keys[args[0]] = str(value)
        return value
    if name == "APPEND":
        arity(2)
        keys[args[0]] = (string(args[0]) or "") + args[1]
        return len(keys[args[0]])
    if name == "STRLEN":
        arity(1)
        return len(string(args[0]) or "")
    if name == "KEYS":
        arity(1)
        return sorted(key for key in keys if fnmatch.fnmatchcase(key, args[0]))
    if name == "DBSIZE":
        return len(keys)
    if name in ("FLUSHDB", "FLUSHALL"):
        keys.clear()
        expires.clear()
        return "OK"
    if name == "EXPIRE":
        arity(2)
        if args[0] not in keys:
            return 0
        expires[args[0]] = time.time() + _number(args[1])
        return 1
    if name == "TTL":
        arity(1)
        if args[0] not in keys:
            return -2
        return int(expires[args[0]] - time.time() + 0.5) if args[0] in expires else -1
    if name == "PERSIST":
        arity(1)
        return 1 if expires.pop(args[0], None) is not None else 0
    if name == "TYPE":
        arity(1)
        held = keys.get(args[0])
        return "none" if held is None else "string" if isinstance(held, str) else "list" if isinstance(held, list) else "hash"
    if name in ("LPUSH", "RPUSH"):
        arity(2, at_least=True)
        items = keys.setdefault(args[0], [])
        if not isinstance(items, list):
            raise ReplyError("WRONGTYPE Operation against a key holding the wrong kind of value")
        for item in args[1:]:
            items.insert(0, item) if name == "LPUSH" else items.append(item)
        return len(items)
    if name in ("LPOP", "RPOP"):
        arity(1)
        items = keys.get(args[0])
        if not items:
            return None
        popped = items.pop(0 if name == "LPOP" else -1)
        if not items:
            del keys[args[0]]
        return popped
    if name == "LLEN":
        arity(1)
        return len(keys.get(args[0]) or [])
    if name == "LRANGE":
        arity(3)
        items = keys.get(args[0]) or []
        start, stop = _number(args[1]), _number(args[2])
        stop = len(items) + stop if stop < 0 else stop
        return list(items[max(len(items) + start, 0) if start < 0 else start: stop + 1])
    if name == "HSET":
        if len(args) < 3 or len(args) % 2 == 0:
            raise ReplyError("ERR wrong number of arguments for 'hset' command")
        table = keys.setdefault(args[0], {})
        added = sum(1 for field in args[1::2] if field not in table)
        table.update(dict(zip(args[1::2], args[2::2])))
        return added
    if name == "HGET":
        arity(2)
        return (keys.get(args[0]) or {}).get(args[1])
    if name == "HGETALL":
        arity(1)
        return [part for pair in (keys.get(args[0]) or {}).items() for part in pair]
    if name == "HDEL":
        arity(2, at_least=True)
        table = keys.get(args[0]) or {}
        return sum(1 for field in args[1:] if table.pop(field, None) is not None)
    if name == "INFO":
        return f"# Server\r\nredis_version:{VERSION}\r\nredis_mode:standalone\r\nos:Linux\r\ntcp_port:6379\r\n"
    shown = " ".join(f"'{word}'" for word in args[:3])
    raise ReplyError(f"ERR unknown command '{words[0]}', with args beginning with: {shown}" + (" " if shown else ""))


def _raw(reply: Any) -> str:
    """redis-cli's output when stdout is not a terminal."""
    if reply is None:
        return "\n"
    if isinstance(reply, list):
        return "".join(_raw(item) for item in reply)
    return f"{reply}\n"


def _split(line: str) -> list[str]:
    import shlex

    try:
        return shlex.split(line)
    except ValueError:
        return line.split()


def run_client(argv: list[str], stdin: bytes, container: Any) -> tuple[bytes, bytes, int]:
    """``redis-cli [-h HOST] [-p PORT] [-a PASSWORD] [-n DB] [COMMAND ...]``; with no command,
    the commands on stdin (one per line)."""
    host, port, password, words = "127.0.0.1", 6379, None, []
    arguments = iter(argv)
    for argument in arguments:
        if argument == "-h":
            host = next(arguments, host)
        elif argument == "-p":
            port = int(next(arguments, "6379"))
        elif argument == "-a":
            password = next(arguments, "")
        elif argument in ("-n", "-u"):
            next(arguments, None)
        elif argument in ("--no-auth-warning", "--raw", "--no-raw"):
            continue
        else:
            words = [argument, *arguments]
    network, pod = container.network, container.pod_object
    if network is None or pod is None:
        return b"", f"Could not connect to Redis at {host}:{port}: Connection refused\n".encode(), 1
    address, _, _ = network.resolve(pod, host)
    if address is None:
        return b"", f"Could not connect to Redis at {host}:{port}: Name or service not known\n".encode(), 1
    connection = network.connect(pod, address, "TCP", port)
    found = network.listener(connection.pod, "TCP", connection.target or port) if connection.pod is not None else None
    if connection.outcome != "connected" or found is None or found[1].image.does != "redis":
        reason = "Connection timed out" if connection.outcome == "timeout" else "Connection refused"
        return b"", f"Could not connect to Redis at {host}:{port}: {reason}\n".encode(), 1
    server_pod, (server_container, process) = connection.pod, found
    required = _required_password(process.argv)
    warning = b"Warning: Using a password with '-a' or '-u' option on the command line interface may not be safe.\n" if password else b""
    path = (container.data_root / server_pod["metadata"]["namespace"] / server_pod["metadata"]["name"]
            / str(server_container.get("name")) / "redis.json")
    data = _load(path)
    commands = [words] if words else [_split(line) for line in stdin.decode(errors="replace").splitlines() if line.strip()]
    out: list[str] = []
    for command in commands:
        if required is not None and password != required and command[0].upper() not in ("AUTH",):
            out.append("NOAUTH Authentication required.\n")
            continue
        try:
            out.append(_raw(execute(data, command)))
        except ReplyError as error:
            out.append(f"{error}\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return "".join(out).encode(), warning, 0


def _required_password(argv: tuple[str, ...] | list[str]) -> str | None:
    words = list(argv)
    for index, word in enumerate(words):
        if word == "--requirepass" and index + 1 < len(words):
            return words[index + 1]
        if word.startswith("--requirepass="):
            return word.split("=", 1)[1]
    return None
