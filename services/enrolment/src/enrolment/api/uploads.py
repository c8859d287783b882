"""Streams a request body to a temporary file (never held in memory), checking its size and UTF-8 on the way."""

from __future__ import annotations

import codecs
import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from fastapi import Request

from shared.errors import InvalidInput
from shared.http.errors import ApiError


@dataclass(frozen=True)
class Upload:
    path: Path
    sha256: str
    size: int
    lines: int


async def receive(request: Request, *, limit: int) -> Upload:
    """The body in a temporary file; 413 past `limit` bytes, 422 at the first line that is not UTF-8."""
    descriptor, name = tempfile.mkstemp(prefix="filet-import-", suffix=".upload")
    path = Path(name)
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    size = lines = 0
    last = b"\n"
    try:
        with os.fdopen(descriptor, "wb") as file:
            async for chunk in request.stream():
                if not chunk:
                    continue
                if size == 0 and chunk.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
                    raise InvalidInput("the file is UTF-16: save it as UTF-8 (in a spreadsheet: 'CSV UTF-8')")
                size += len(chunk)
                if size > limit:
                    raise ApiError(
                        413, "payload_too_large", f"the body is larger than the limit of {limit} bytes"
                    )
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as error:
                    line = lines + chunk.count(b"\n", 0, max(error.start, 0)) + 1
                    raise InvalidInput(
                        f"line {line} is not UTF-8: the file is probably Latin-1 or Windows-1252; save it as "
                        "UTF-8 (in a spreadsheet: 'CSV UTF-8')",
                        details={"line": line},
                    ) from None
                lines += chunk.count(b"\n")
                last = chunk[-1:]
                digest.update(chunk)
                file.write(chunk)
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                raise InvalidInput(
                    f"line {lines + 1} ends in the middle of a character: the file is not UTF-8",
                    details={"line": lines + 1},
                ) from None
            if last != b"\n":
                lines += 1
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return Upload(path, digest.hexdigest(), size, lines)
