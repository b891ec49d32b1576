"""The file and text programs every image's shell has: ls, mkdir, rmdir, touch, rm, cp, mv,
tee, sed (s///, d, p, -n, -e, -i), tr, cut, sort, uniq, basename, dirname, base64, and busybox's
ps.

They work on the container's files (:class:`~labrunner.sandbox.filesystem.ContainerFiles`: the
image's, the writable layer, the volumes, read-only where the kubelet mounts them so), and say
what goes wrong in the words of the image's own tools: busybox's in busybox and alpine images,
GNU coreutils' elsewhere (``rm: can't remove 'x'`` beside ``rm: cannot remove 'x'``). Files
carry no modes, owners or times of their own: ``ls -l`` shows what the image would have for a
root-owned file (a documented gap).
"""

from __future__ import annotations

import base64
import datetime
import posixpath
import re
from collections.abc import Callable
from typing import Any

PROGRAMS = frozenset({"ls", "mkdir", "rmdir", "touch", "rm", "cp", "mv", "tee", "sed", "tr", "cut", "sort", "uniq", "basename",
                      "dirname", "base64"})
BUSYBOX_ONLY = frozenset({"ps"})

Result = tuple[bytes, bytes, int]


def run(program: str, args: list[str], stdin: bytes, container: Any) -> Result:
    from labrunner.sandbox import images

    image = images.lookup(container.image)
    busybox = image is not None and "bash" not in image.shells
    tools = _Tools(container, busybox)
    handler: Callable[[list[str], bytes], Result] = getattr(tools, "_" + program)
    return handler(args, stdin)


def _split_flags(args: list[str], valued: str = "") -> tuple[set[str], dict[str, str], list[str]]:
    """Short flags (``-rf``), their values (``-d,``/``-d ,``), and operands (after ``--`` too)."""
    flags: set[str] = set()
    values: dict[str, str] = {}
    operands: list[str] = []
    index = 0
    while index < len(args):
        word = args[index]
        if word == "--":
            operands += args[index + 1:]
            break
        if word.startswith("-") and len(word) > 1 and not word[1].isdigit():
            position = 1
            while position < len(word):
                letter = word[position]
                if letter in valued:
                    value = word[position + 1:]
                    if not value and index + 1 < len(args):
                        index += 1
                        value = args[index]
                    values[letter] = value
                    break
                flags.add(letter)
                position += 1
        else:
            operands.append(word)
        index += 1
    return flags, values, operands


class _Tools:
    def __init__(self, container: Any, busybox: bool) -> None:
        from labrunner.sandbox.filesystem import ContainerFiles

        files = container.files
        self.container, self.busybox = container, busybox
        self.files = files if isinstance(files, ContainerFiles) else ContainerFiles(files)  # a bare mapping: the image's files only
        self.cwd = str(container.env.get("PWD") or "/")

    def path(self, name: str) -> str:
        return posixpath.normpath(name if name.startswith("/") else posixpath.join(self.cwd, name))

    def exists(self, path: str) -> bool:
        return path in self.files or self.files.is_dir(path)

    def children(self, folder: str) -> list[str]:
        prefix = folder.rstrip("/") + "/"
        found = {name[len(prefix):].split("/", 1)[0] for name in self.files if name.startswith(prefix)}
        if folder == "/":
            from labrunner.sandbox.filesystem import ROOT_FOLDERS

            found |= set(ROOT_FOLDERS)
        found |= {posixpath.basename(made) for made in self.files.folders(folder)}
        return sorted(found)

    def cannot(self, program: str, verb: str, name: str, why: str) -> bytes:
        """``rm: can't remove 'x': ...`` (busybox) or ``rm: cannot remove 'x': ...`` (GNU)."""
        return f"{program}: {'can' + chr(39) + 't' if self.busybox else 'cannot'} {verb} '{name}': {why}\n".encode()

    def write(self, path: str, content: bytes) -> str | None:
        try:
            self.files[path] = content
        except OSError as error:
            return error.strerror or "I/O error"
        return None

    # -- files ------------------------------------------------------------------------------------

    def _ls(self, args: list[str], stdin: bytes) -> Result:
        flags, _, operands = _split_flags(args)
        out: list[str] = []
        errors, code = b"", 0
        targets = operands or ["."]
        folders = []
        for name in targets:
            path = self.path(name)
            if path in self.files and not self.files.is_dir(path):
                out.append(self._entry(name, path, flags))
            elif self.files.is_dir(path):
                folders.append((name, path))
            else:
                errors += (f"ls: {name}: No such file or directory\n" if self.busybox
                           else f"ls: cannot access '{name}': No such file or directory\n").encode()
                code = 1 if self.busybox else 2
        for name, path in folders:
            if len(targets) > 1:
                out.append(("\n" if out else "") + f"{name}:")
            entries = self.children(path)
            if "a" in flags:
                entries = [".", "..", *entries]
            entries = [entry for entry in entries if "a" in flags or not entry.startswith(".")]
            out += [self._entry(entry, posixpath.join(path, entry), flags) for entry in entries]
        return ("".join(line + "\n" for line in out)).encode(), errors, code

    def _entry(self, name: str, path: str, flags: set[str]) -> str:
        if "l" not in flags:
            return name
        folder = self.files.is_dir(path)
        size = 4096 if folder else len(self.files.get(path) or b"")
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%b %d %H:%M")
        return f"{'drwxr-xr-x' if folder else '-rw-r--r--'} {'2' if folder else '1':>4} root     root     {size:>9} {stamp} {name}"

    def _mkdir(self, args: list[str], stdin: bytes) -> Result:
        flags, _, operands = _split_flags(args, valued="m")
        errors, code = b"", 0
        for name in operands:
            path = self.path(name)
            parent = posixpath.dirname(path)
            if self.exists(path) and "p" not in flags:
                errors += self.cannot("mkdir", "create directory", name, "File exists")
                code = 1
                continue
            if not self.files.is_dir(parent) and "p" not in flags:
                errors += self.cannot("mkdir", "create directory", name, "No such file or directory")
                code = 1
                continue
            try:
                self.files.make_folder(path)
            except OSError as error:
                errors += self.cannot("mkdir", "create directory", name, error.strerror or "I/O error")
                code = 1
        return b"", errors, code

    def _rmdir(self, args: list[str], stdin: bytes) -> Result:
        _, _, operands = _split_flags(args)
        errors, code = b"", 0
        for name in operands:
            path = self.path(name)
            if self.children(path):
                errors += f"rmdir: '{name}': Directory not empty\n".encode() if self.busybox else \
                    f"rmdir: failed to remove '{name}': Directory not empty\n".encode()
                code = 1
            else:
                self.files.remove_folder(path)
        return b"", errors, code

    def _touch(self, args: list[str], stdin: bytes) -> Result:
        _, _, operands = _split_flags(args)
        errors, code = b"", 0
        for name in operands:
            path = self.path(name)
            if path in self.files:
                continue
            if not self.files.is_dir(posixpath.dirname(path)):
                why = "No such file or directory"
            else:
                why = self.write(path, b"") or ""
            if why:
                errors += (f"touch: {name}: {why}\n" if self.busybox else f"touch: cannot touch '{name}': {why}\n").encode()
                code = 1
        return b"", errors, code

    def _rm(self, args: list[str], stdin: bytes) -> Result:
        flags, _, operands = _split_flags(args)
        errors, code = b"", 0
        for name in operands:
            path = self.path(name)
            if self.files.is_dir(path) and path not in self.files:
                if not flags & {"r", "R"}:
                    errors += self.cannot("rm", "remove", name, "Is a directory")
                    code = 1
                    continue
                for inner in [n for n in self.files if n.startswith(path.rstrip("/") + "/")]:
                    try:
                        del self.files[inner]
                    except (OSError, KeyError):
                        pass
                self.files.remove_folder(path)
                continue
            if path not in self.files:
                if "f" not in flags:
                    errors += self.cannot("rm", "remove", name, "No such file or directory")
                    code = 1
                continue
            try:
                del self.files[path]
            except OSError as error:
                errors += self.cannot("rm", "remove", name, error.strerror or "I/O error")
                code = 1
            except KeyError:
                errors += self.cannot("rm", "remove", name, "Read-only file system")
                code = 1
        return b"", errors, code

    def _copy(self, program: str, args: list[str], move: bool) -> Result:
        flags, _, operands = _split_flags(args)
        if len(operands) < 2:
            return b"", f"{program}: missing destination file operand\n".encode(), 1
        *sources, target = operands
        destination = self.path(target)
        errors, code = b"", 0
        for name in sources:
            path = self.path(name)
            into = posixpath.join(destination, posixpath.basename(path)) if self.files.is_dir(destination) else destination
            if path in self.files:
                pairs = [(path, into)]
            elif self.files.is_dir(path) and (move or flags & {"r", "R", "a"}):
                prefix = path.rstrip("/") + "/"
                pairs = [(n, into.rstrip("/") + "/" + n[len(prefix):]) for n in self.files if n.startswith(prefix)]
                self.files.make_folder(into)
            elif self.files.is_dir(path):
                errors += f"cp: omitting directory '{name}'\n".encode() if not self.busybox else f"cp: '{name}' is a directory\n".encode()
                code = 1
                continue
            else:
                errors += (self.cannot(program, "stat", name, "No such file or directory") if program == "cp" or not self.busybox
                           else f"mv: can't rename '{name}': No such file or directory\n".encode())
                code = 1
                continue
            for source, copy in pairs:
                why = self.write(copy, self.files[source])
                if why:
                    errors += self.cannot(program, "create", posixpath.relpath(copy, self.cwd) if not target.startswith("/") else copy, why)
                    code = 1
                elif move:
                    try:
                        del self.files[source]
                    except (OSError, KeyError):
                        errors += self.cannot(program, "remove", name, "Read-only file system")
                        code = 1
            if move and self.files.is_dir(path):
                self.files.remove_folder(path)
        return b"", errors, code

    def _cp(self, args: list[str], stdin: bytes) -> Result:
        return self._copy("cp", args, move=False)

    def _mv(self, args: list[str], stdin: bytes) -> Result:
        return self._copy("mv", args, move=True)

    def _tee(self, args: list[str], stdin: bytes) -> Result:
        flags, _, operands = _split_flags(args)
        errors, code = b"", 0
        for name in operands:
            path = self.path(name)
            content = (self.files.get(path) or b"") + stdin if "a" in flags else stdin
            why = self.write(path, content)
            if why:
                errors += f"tee: {name}: {why}\n".encode()
                code = 1
        return stdin, errors, code

    def _input(self, operands: list[str], stdin: bytes, program: str) -> tuple[bytes, bytes, int]:
        if not operands or operands == ["-"]:
            return stdin, b"", 0
        data, errors, code = b"", b"", 0
        for name in operands:
            content = self.files.get(self.path(name))
            if content is None:
                errors += (f"{program}: {name}: No such file or directory\n" if not self.busybox or program != "sed"
                           else f"sed: can't read {name}: No such file or directory\n").encode()
                code = 1
            else:
                data += content
        return data, errors, code

    # -- text -------------------------------------------------------------------------------------

    def _sed(self, args: list[str], stdin: bytes) -> Result:
        flags, values, operands = _split_flags(args, valued="e")
        scripts = [values["e"]] if "e" in values else []
        if not scripts:
            if not operands:
                return b"", b"Usage: sed [-i[SFX]] [-nrE] [-f FILE]... [-e CMD]... [FILE]...\n", 1
            scripts, operands = [operands[0]], operands[1:]
        try:
            commands = [_sed_command(part) for script in scripts for part in re.split(r";\s*|\n", script) if part.strip()]
        except ValueError as error:
            return b"", f"sed: {error}\n".encode(), 1
        in_place = "i" in flags
        targets = operands if in_place else [None]
        out = b""
        errors, code = b"", 0
        for target in targets:
            data, more, failed = self._input([target] if target else operands, stdin, "sed")
            errors, code = errors + more, max(code, failed)
            result = _sed_apply(commands, data.decode(errors="replace"), quiet="n" in flags, extended=bool(flags & {"E", "r"}))
            if in_place and target is not None and not failed:
                why = self.write(self.path(target), result.encode())
                if why:
                    errors += f"sed: can't create {target}: {why}\n".encode()
                    code = 4
            else:
                out += result.encode()
        return out, errors, code

    def _tr(self, args: list[str], stdin: bytes) -> Result:
        flags, _, operands = _split_flags(args)
        text = stdin.decode(errors="replace")
        sets = [_tr_set(operand) for operand in operands]
        if "d" in flags and sets:
            return "".join(c for c in text if c not in sets[0]).encode(), b"", 0
        if len(sets) < 2 and "s" not in flags:
            return b"", b"tr: missing operand\n", 1
        if len(sets) >= 2:
            source, target = sets[0], sets[1]
            target = target + target[-1:] * (len(source) - len(target)) if target else target
            table = {ord(a): b for a, b in zip(source, target)}
            text = text.translate(table)
        if "s" in flags:
            squeeze = sets[-1] if sets else ""
            text = re.sub("([" + re.escape(squeeze) + "])\\1+", r"\1", text) if squeeze else text
        return text.encode(), b"", 0

    def _cut(self, args: list[str], stdin: bytes) -> Result:
        _, values, operands = _split_flags(args, valued="dfc")
        data, errors, code = self._input(operands, stdin, "cut")
        spec = values.get("f") or values.get("c")
        if not spec:
            return b"", b"cut: you must specify a list of bytes, characters, or fields\n", 1
        wanted = _ranges(spec)
        delimiter = values.get("d", "\t")
        lines = []
        for line in data.decode(errors="replace").splitlines():
            if "c" in values:
                lines.append("".join(ch for i, ch in enumerate(line, 1) if wanted(i)))
            elif delimiter not in line:
                lines.append(line)
            else:
                lines.append(delimiter.join(p for i, p in enumerate(line.split(delimiter), 1) if wanted(i)))
        return "".join(line + "\n" for line in lines).encode(), errors, code

    def _sort(self, args: list[str], stdin: bytes) -> Result:
        flags, values, operands = _split_flags(args, valued="kt")
        data, errors, code = self._input(operands, stdin, "sort")
        lines = data.decode(errors="replace").splitlines()
        field = int(values["k"].split(",")[0].split(".")[0]) if "k" in values and values["k"][:1].isdigit() else 0

        def key(line: str) -> Any:
            part = line
            if field:
                pieces = line.split(values["t"]) if "t" in values else line.split()
                part = pieces[field - 1] if len(pieces) >= field else ""
            if "n" in flags:
                match = re.match(r"\s*(-?\d+(?:\.\d+)?)", part)
                return (float(match.group(1)) if match else 0.0, line)
            return part
        lines.sort(key=key, reverse="r" in flags)
        if "u" in flags:
            lines = list(dict.fromkeys(lines))
        return "".join(line + "\n" for line in lines).encode(), errors, code

    def _uniq(self, args: list[str], stdin: bytes) -> Result:
        flags, _, operands = _split_flags(args)
        data, errors, code = self._input(operands[:1], stdin, "uniq")
        groups: list[list[str]] = []
        for line in data.decode(errors="replace").splitlines():
            if groups and groups[-1][0] == line:
                groups[-1].append(line)
            else:
                groups.append([line])
        if "d" in flags:
            groups = [g for g in groups if len(g) > 1]
        if "u" in flags:
            groups = [g for g in groups if len(g) == 1]
        shown = [f"{len(g):>7} {g[0]}" if "c" in flags else g[0] for g in groups]
        return "".join(line + "\n" for line in shown).encode(), errors, code

    def _basename(self, args: list[str], stdin: bytes) -> Result:
        if not args:
            return b"", b"basename: missing operand\n", 1
        name = posixpath.basename(args[0].rstrip("/")) or "/"
        if len(args) > 1 and name.endswith(args[1]) and name != args[1]:
            name = name[: -len(args[1])]
        return (name + "\n").encode(), b"", 0

    def _dirname(self, args: list[str], stdin: bytes) -> Result:
        if not args:
            return b"", b"dirname: missing operand\n", 1
        return ((posixpath.dirname(args[0].rstrip("/")) or ".") + "\n").encode(), b"", 0

    def _base64(self, args: list[str], stdin: bytes) -> Result:
        flags, _, operands = _split_flags(args)
        data, errors, code = self._input(operands, stdin, "base64")
        if "d" in flags:
            try:
                return base64.b64decode(b"".join(data.split())), errors, code
            except ValueError:
                return b"", b"base64: invalid input\n", 1
        encoded = base64.b64encode(data).decode()
        return "".join(encoded[i:i + 76] + "\n" for i in range(0, len(encoded), 76)).encode() or b"\n", errors, code

    def _ps(self, args: list[str], stdin: bytes) -> Result:
        command = " ".join(getattr(self.container, "main_argv", ()) or ("sh",))
        return (f"PID   USER     TIME  COMMAND\n    1 root      0:00 {command}\n   42 root      0:00 ps {' '.join(args)}".rstrip()
                + "\n").encode(), b"", 0


def _tr_set(text: str) -> str:
    classes = {"[:upper:]": "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "[:lower:]": "abcdefghijklmnopqrstuvwxyz", "[:digit:]": "0123456789",
               "[:space:]": " \t\n\r\f\v", "[:alpha:]": "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"}
    for name, letters in classes.items():
        text = text.replace(name, letters)
    text = text.replace("\\n", "\n").replace("\\t", "\t")
    return re.sub(r"(.)-(.)", lambda m: "".join(chr(c) for c in range(ord(m.group(1)), ord(m.group(2)) + 1)), text)


def _ranges(spec: str) -> Callable[[int], bool]:
    parts = []
    for part in spec.split(","):
        start, dash, end = part.partition("-")
        low = int(start) if start else 1
        high = (int(end) if end else 10 ** 9) if dash else low
        parts.append((low, high))
    return lambda index: any(low <= index <= high for low, high in parts)


def _sed_command(text: str) -> tuple[str, Any]:
    text = text.strip()
    address = None
    match = re.match(r"^(\d+|\$|/(?:[^/\\]|\\.)*/)", text)
    if match and not text.startswith("s"):
        address, text = match.group(1), text[match.end():].strip()
    if text.startswith("s") and len(text) > 1:
        separator = text[1]
        parts = re.split(r"(?<!\\)" + re.escape(separator), text[2:])
        if len(parts) < 3:
            raise ValueError(f"unmatched '{separator}'")
        return "s", (address, parts[0], parts[1], parts[2])
    if text in ("d", "p"):
        return text, (address,)
    raise ValueError(f"unsupported command {text[:1] or '?'}")


def _sed_apply(commands: list[tuple[str, Any]], text: str, *, quiet: bool, extended: bool) -> str:
    lines = text.splitlines()
    out: list[str] = []
    for number, line in enumerate(lines, 1):
        deleted = False
        printed: list[str] = []
        for kind, arguments in commands:
            address = arguments[0]
            if address is not None and not _sed_matches(address, number, len(lines), line):
                continue
            if kind == "d":
                deleted = True
                break
            if kind == "p":
                printed.append(line)
                continue
            _, pattern, replacement, options = arguments
            source = pattern if extended else re.sub(r"\\([(){}|+?])|([(){}|+?])", lambda m: m.group(1) or "\\" + m.group(2), pattern)
            python_replacement = re.sub(r"\\(\d)", r"\\g<\1>", replacement.replace("&", r"\g<0>").replace(r"\&", "&"))
            try:
                line = re.sub(source, python_replacement, line, count=0 if "g" in options else 1,
                              flags=re.IGNORECASE if "I" in options or "i" in options else 0)
            except re.error:
                line = line.replace(pattern, replacement, 0 if "g" in options else 1)
            if "p" in options:
                printed.append(line)
        out += printed
        if not deleted and not quiet:
            out.append(line)
    return "".join(line + "\n" for line in out)


def _sed_matches(address: str, number: int, last: int, line: str) -> bool:
    if address == "$":
        return number == last
    if address.isdigit():
        return number == int(address)
    try:
        return re.search(address[1:-1], line) is not None
    except re.error:
        return False
