"""Reading user data into Arrow tables.

``read(source)`` accepts a file path, the bytes of an upload, a binary file-like object (e.g. Streamlit's
``UploadedFile``), a pandas DataFrame or a pyarrow Table, and returns a :class:`Dataset`: the data as an Arrow
table plus its name, a content fingerprint, the detected format and its size.

Formats: CSV / TSV (and ``;`` / ``|`` delimited text, sniffed), Parquet, JSON (an array of records, an object of
columns, or a single record), JSON Lines, Avro object container files (via fastavro), Arrow IPC file / stream and
Feather (v1 and v2). Gzip-compressed input of any of these is decompressed transparently.

The format is sniffed from the content (magic bytes, leading ``[`` / ``{``, delimiter counts); the file extension
only breaks ties. The table is kept as read -- column names, order and duplicates included -- with two deliberate
exceptions for embedding vectors:

* list columns of numbers become ``fixed_size_list<float32>[d]`` when every non-null row has the same length ``d``
  (``list<float32>`` when the lengths differ, so that validation can report the lengths it found);
* in text formats (CSV, TSV, JSON, JSON Lines) and DataFrames, a string column whose non-null values *all* look like
  ``"[0.12, -0.5, ...]"`` (or ``"[0.12 -0.5 ...]"``) is parsed into the same float32 vectors.

Every failure raises :class:`~obs_core.errors.InputError` (or :class:`~obs_core.errors.LimitExceeded`) with a
plain-language ``user_message`` that names the file.
"""

from __future__ import annotations

import codecs
import gzip
import hashlib
import io
import json
import os
import re
import warnings
import zlib
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.feather as pa_feather
import pyarrow.ipc as pa_ipc
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from obs_core.errors import InputError, LimitExceeded

__all__ = [
    "Dataset",
    "Limits",
    "FORMATS",
    "read",
    "detect_format",
    "fingerprint_bytes",
]

FORMATS = ("csv", "tsv", "parquet", "json", "jsonl", "avro", "arrow", "dataframe")

_FORMAT_ALIASES = {
    "csv": "csv",
    "txt": "csv",
    "tsv": "tsv",
    "tab": "tsv",
    "parquet": "parquet",
    "pq": "parquet",
    "json": "json",
    "jsonl": "jsonl",
    "ndjson": "jsonl",
    "avro": "avro",
    "arrow": "arrow",
    "feather": "arrow",
    "ipc": "arrow",
    "arrows": "arrow",
}

_EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".avro": "avro",
    ".arrow": "arrow",
    ".arrows": "arrow",
    ".feather": "arrow",
    ".ipc": "arrow",
}

_FORMAT_LABELS = {
    "csv": "CSV",
    "tsv": "TSV",
    "parquet": "Parquet",
    "json": "JSON",
    "jsonl": "JSON Lines",
    "avro": "Avro",
    "arrow": "Arrow IPC / Feather",
    "dataframe": "DataFrame",
}

_SUPPORTED = "CSV, TSV, Parquet, JSON, JSON Lines, Avro, Arrow IPC or Feather"

# Well-known file types we cannot read, for a helpful message instead of "unknown format".
_FOREIGN_MAGIC = (
    (b"PK\x03\x04", "a ZIP archive (an Excel .xlsx workbook is one)", "Export the sheet as CSV, or unzip the archive."),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old-style Excel (.xls) or other Office file", "Export it as CSV."),
    (b"ORC", "an ORC file", "Convert it to Parquet."),
    (b"SQLite format 3\x00", "an SQLite database", "Export the table as CSV or Parquet."),
    (b"%PDF", "a PDF document", None),
    (b"BZh", "bzip2-compressed", "Decompress it first (gzip-compressed files are read directly)."),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed", "Decompress it first (gzip-compressed files are read directly)."),
    (b"\xfd7zXZ\x00", "xz-compressed", "Decompress it first (gzip-compressed files are read directly)."),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive", "Extract the file first."),
    (b"\x89HDF", "an HDF5 file", "Export the table as Parquet or CSV."),
    (b"\x93NUMPY", "a NumPy .npy array", "Save a table (e.g. with pandas.DataFrame.to_parquet) instead."),
    (b"\x80\x04", "a Python pickle", "Save the DataFrame with to_parquet() or to_csv() instead."),
    (b"\x80\x05", "a Python pickle", "Save the DataFrame with to_parquet() or to_csv() instead."),
)

_SNIFF_BYTES = 64 * 1024
_CSV_BLOCK_SIZE = 8 * 1024 * 1024  # generous: wide rows and long vector strings must fit in a block
_MAX_BLOCK_SIZE = 2**31 - 1
_HASH_CHUNK = 1024 * 1024
_FLOAT32_MAX = float(3.4028234663852886e38)
_FLOAT32_EXACT_INT = 2**24

_executor: ThreadPoolExecutor | None = None
_compute_executor: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    """Background work next to a read: fingerprinting."""
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="obs-io-hash")
    return _executor


def _compute_pool() -> ThreadPoolExecutor:
    """Chunk-parallel Arrow compute (vector parsing)."""
    global _compute_executor
    if _compute_executor is None:
        _compute_executor = ThreadPoolExecutor(
            max_workers=max(2, min(8, os.cpu_count() or 2)), thread_name_prefix="obs-io-compute"
        )
    return _compute_executor


# --------------------------------------------------------------------------------------------------------------
# Public types
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Dataset:
    """A table read from a file (or given in memory), plus where it came from."""

    name: str  # user-facing name, e.g. the file name or "training"
    table: pa.Table  # the data as read (column names and order exactly as in the source)
    fingerprint: str  # sha256 hex of the source bytes (or of an Arrow IPC serialisation for in-memory data)
    source_format: str  # one of FORMATS
    size_bytes: int
    notes: tuple[str, ...] = ()  # plain-language remarks about the reading, e.g. an encoding fallback

    @property
    def num_rows(self) -> int:
        return self.table.num_rows

    @property
    def columns(self) -> list[str]:
        return list(self.table.column_names)

    @property
    def vector_columns(self) -> list[str]:
        """Names of the embedding vector columns: fixed-size float lists, or (when many vectors are missing)
        variable-length float lists whose vectors all have one length."""
        out = []
        for f in self.table.schema:
            if pa.types.is_fixed_size_list(f.type) and pa.types.is_floating(f.type.value_type):
                out.append(f.name)
            elif _is_list_type(f.type) and f.type.value_type == pa.float32():
                mm = pc.min_max(pc.list_value_length(self.table.column(f.name))).as_py()
                if mm["min"] is not None and mm["min"] == mm["max"] > 0:
                    out.append(f.name)
        return out

    def to_pandas(self) -> pd.DataFrame:
        return self.table.to_pandas()

    def __repr__(self) -> str:  # the default repr would print the whole table
        return (
            f"Dataset(name={self.name!r}, source_format={self.source_format!r}, rows={self.num_rows}, "
            f"columns={self.table.num_columns}, size_bytes={self.size_bytes}, fingerprint={self.fingerprint[:12]}...)"
        )


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 2 * 1024**3
    max_rows: int = 50_000_000


def fingerprint_bytes(data: bytes) -> str:
    """sha256 hex digest of ``data``."""
    return hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------------------------


def _q(name: str) -> str:
    return f'"{name}"'


def _human_bytes(n: int) -> str:
    value = float(n)
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{int(value)} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} bytes"  # pragma: no cover


def _detail(exc: BaseException, limit: int = 300) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _too_big(name: str, size: int, limits: Limits, what: str = "is") -> LimitExceeded:
    def both(n: int) -> str:
        human = _human_bytes(n)
        return human if human.endswith(" bytes") else f"{human} ({n:,} bytes)"

    return LimitExceeded(
        f"{_q(name)} {what} {both(size)}, larger than the limit of {both(limits.max_bytes)}.",
        hint="Use a sample or a subset of the data, or raise the size limit.",
    )


def _too_many_rows(name: str, rows: int | None, limits: Limits) -> LimitExceeded:
    if rows is None:
        msg = f"{_q(name)} has more than {limits.max_rows:,} rows, the row limit."
    else:
        msg = f"{_q(name)} has {rows:,} rows, more than the limit of {limits.max_rows:,} rows."
    return LimitExceeded(msg, hint="Use a sample of the data, or raise the row limit.")


def _extension_format(name: str | None) -> str | None:
    if not name:
        return None
    lower = name.lower()
    if lower.endswith(".gz"):
        lower = lower[:-3]
    return _EXTENSIONS.get(os.path.splitext(lower)[1])


def _strip_gz(name: str) -> str:
    return name[:-3] if name.lower().endswith(".gz") and len(name) > 3 else name


# --------------------------------------------------------------------------------------------------------------
# Sources
# --------------------------------------------------------------------------------------------------------------


class _Source:
    """The bytes of one input, either a file on disk (read by pyarrow directly) or an in-memory buffer."""

    def __init__(
        self, name: str, size: int, path: str | None = None, data: bytes | None = None, file_name: str | None = None
    ):
        self.name = name  # for messages
        self.file_name = file_name or name  # for the extension hint
        self.size = size
        self.path = path
        self.data = data

    def open_arrow(self) -> pa.NativeFile:
        if self.path is not None:
            return pa.memory_map(self.path)
        return pa.BufferReader(self.data)

    def open_python(self):
        if self.path is not None:
            return open(self.path, "rb")
        return io.BytesIO(self.data)

    def head(self, n: int = _SNIFF_BYTES) -> bytes:
        if self.data is not None:
            return self.data[:n]
        with open(self.path, "rb") as f:
            return f.read(n)

    def tail(self, n: int = 16) -> bytes:
        if self.data is not None:
            return self.data[-n:]
        with open(self.path, "rb") as f:
            f.seek(max(0, self.size - n))
            return f.read(n)

    def read_bytes(self) -> bytes:
        if self.data is not None:
            return self.data
        with open(self.path, "rb") as f:
            return f.read()

    def count(self, byte: bytes) -> int:
        if self.data is not None:
            return self.data.count(byte)
        total = 0
        with open(self.path, "rb") as f:
            while chunk := f.read(_HASH_CHUNK * 8):
                total += chunk.count(byte)
        return total


def _hash_file(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


class _HashSink(io.RawIOBase):
    """A write-only file that hashes what is written to it (and counts the bytes), keeping nothing."""

    def __init__(self) -> None:
        super().__init__()
        self.hash = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:  # type: ignore[override]
        self.hash.update(b)
        n = memoryview(b).nbytes
        self.size += n
        return n


# --------------------------------------------------------------------------------------------------------------
# Format detection
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Sniffed:
    format: str
    delimiter: str | None = None
    encoding: str | None = None  # a non-UTF-8 encoding announced by a byte-order mark or NUL pattern


def _text_encoding(head: bytes) -> str | None:
    """Encoding for UTF-16/32 text (by BOM or NUL pattern); None for everything else."""
    if head.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return "utf-32"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    sample = head[:4096]
    if len(sample) >= 8:
        even, odd = sample[0::2], sample[1::2]
        if odd.count(0) > 0.4 * len(odd) and even.count(0) == 0:
            return "utf-16-le"
        if even.count(0) > 0.4 * len(even) and odd.count(0) == 0:
            return "utf-16-be"
    return None


def _looks_binary(head: bytes) -> bool:
    sample = head[:8192]
    if not sample:
        return False
    if b"\x00" in sample:
        return True
    controls = sum(sample.count(bytes([c])) for c in (*range(0, 9), 11, 12, *range(14, 32), 127))
    return controls > 0.02 * len(sample)


def _decode_head(head: bytes, encoding: str | None) -> str:
    if encoding:
        if encoding.startswith("utf-16"):
            head = head[: len(head) - len(head) % 2]
        elif encoding.startswith("utf-32"):
            head = head[: len(head) - len(head) % 4]
        return head.decode(encoding, errors="replace").lstrip("\ufeff")
    if head.startswith(codecs.BOM_UTF8):
        head = head[3:]
    return head.decode("utf-8", errors="replace")


def _count_delimiters(text: str, complete: bool) -> list[dict[str, int]]:
    """Per record of ``text``: how often each candidate delimiter occurs outside quotes and brackets.

    Only a sniffer: it looks at the first records, to choose the delimiter for pyarrow's CSV reader.
    """
    candidates = (",", "\t", ";", "|")
    records: list[dict[str, int]] = []
    current = dict.fromkeys(candidates, 0)
    in_quotes = False
    depth = 0
    nonblank = False
    for ch in text:
        if in_quotes:
            if ch == '"':
                in_quotes = False
            continue
        if ch == "\n" or ch == "\r":
            if nonblank:
                records.append(current)
                if len(records) >= 100:
                    return records
            current = dict.fromkeys(candidates, 0)
            depth = 0
            nonblank = False
            continue
        nonblank = True
        if ch == '"':
            in_quotes = True
        elif ch == "[":
            depth += 1
        elif ch == "]":
            depth = max(0, depth - 1)
        elif depth == 0 and ch in current:
            current[ch] += 1
    if nonblank and complete:
        records.append(current)
    return records


def _sniff_delimiter(text: str, complete: bool, ext: str | None) -> str:
    records = _count_delimiters(text, complete)
    if not records:
        return "\t" if ext == "tsv" else ","
    best: tuple | None = None
    best_delim = "\t" if ext == "tsv" else ","
    # tie order: the extension's delimiter first, then tab (rare inside CSV values), comma, semicolon, pipe
    order = [",", "\t", ";", "|"] if ext == "csv" else ["\t", ",", ";", "|"]
    for rank, delim in enumerate(order):
        counts = [r[delim] for r in records]
        mode = max(set(counts), key=lambda c: (counts.count(c), c))
        if mode == 0:
            continue
        consistency = counts.count(mode) / len(counts)
        score = (round(consistency, 2), -rank)
        if best is None or score > best:
            best, best_delim = score, delim
    return best_delim


def _sniff_json_or_text(text: str, complete: bool, ext: str | None) -> str | None:
    stripped = text.lstrip()
    if stripped.startswith("["):
        rest = stripped[1:].lstrip()
        if not rest or rest[0] in '{[]"-0123456789tfn':
            return "json"
        return None  # e.g. a CSV header like "[id],[name]"
    if stripped.startswith("{"):
        first, sep, remainder = stripped.partition("\n")
        if not sep:
            # the whole head is one line: either the file is one JSON value, or its first line is very long
            if complete:
                return "json"
            return "jsonl" if ext == "jsonl" else "json"
        first = first.strip()
        if first.endswith("}"):
            try:
                json.loads(first)
            except ValueError:
                return "json"  # the object continues on the next lines (pretty-printed JSON)
            nxt = remainder.lstrip()
            if nxt.startswith("{"):
                return "jsonl"
            if not nxt and not complete:
                return "jsonl" if ext == "jsonl" else "json"
            return "json"
        return "json"
    return None


def _sniff(
    head: bytes, tail: bytes | None, name: str | None, total_size: int | None = None, file_name: str | None = None
) -> _Sniffed:
    label = _q(name) if name else "The data"
    if not head:
        raise InputError(f"{label} is empty (0 bytes).", hint="Upload a file that contains data.")
    if head.startswith(b"PAR1") or head.startswith(b"PARE"):
        return _Sniffed("parquet")
    if tail is not None and tail.endswith(b"PAR1") and len(head) >= 4 and head[:4] != b"PAR1":
        # a Parquet footer but no header magic: damaged at the start; let the Parquet reader explain
        return _Sniffed("parquet")
    if head.startswith(b"Obj\x01"):
        return _Sniffed("avro")
    if head.startswith(b"ARROW1"):
        return _Sniffed("arrow")
    if head.startswith(b"FEA1"):
        return _Sniffed("arrow")
    if head.startswith(b"\xff\xff\xff\xff") and len(head) >= 8:
        return _Sniffed("arrow")
    for magic, what, hint in _FOREIGN_MAGIC:
        if head.startswith(magic):
            raise InputError(
                f"{label} is {what}, not a data file this app can read ({_SUPPORTED}).", hint=hint
            )

    encoding = _text_encoding(head)
    if encoding is None and _looks_binary(head):
        raise InputError(
            f"{label} is not in a format this app can read: it looks like binary data that is not "
            f"{_SUPPORTED}.",
            hint="Check that you picked the right file; export the data as CSV or Parquet.",
        )
    complete = total_size is not None and len(head) >= total_size
    text = _decode_head(head, encoding)
    if not text.strip():
        raise InputError(f"{label} contains only whitespace, no data.")
    ext = _extension_format(file_name or name)
    fmt = _sniff_json_or_text(text, complete, ext)
    if fmt is not None:
        return _Sniffed(fmt, encoding=encoding)
    delimiter = _sniff_delimiter(text if complete else text[: text.rfind("\n") + 1] or text, complete, ext)
    return _Sniffed("tsv" if delimiter == "\t" else "csv", delimiter=delimiter, encoding=encoding)


def _gunzip_head(data: bytes, n: int = _SNIFF_BYTES) -> bytes:
    try:
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data[: 4 * 1024 * 1024], n)
    except zlib.error:
        return b""


def detect_format(data: bytes, name: str | None = None) -> str:
    """The format of ``data``: "csv", "tsv", "parquet", "json", "jsonl", "avro" or "arrow".

    Content decides (magic bytes, leading ``[``/``{``, delimiter counts); ``name``'s extension only breaks ties
    (csv vs tsv when both delimiters fit, json vs jsonl when the first line is longer than the sniffed head).
    Gzip-compressed data is sniffed after decompression. Raises :class:`InputError` for empty data and for
    content that is none of the supported formats.
    """
    data = bytes(data)
    if data[:2] == b"\x1f\x8b":
        inner = _gunzip_head(data)
        if not inner:
            label = _q(name) if name else "The data"
            raise InputError(f"{label} looks gzip-compressed but could not be decompressed.")
        complete_size = len(inner) if len(inner) < _SNIFF_BYTES else None
        return _sniff(inner, None, name, complete_size, _strip_gz(name) if name else None).format
    return _sniff(data[:_SNIFF_BYTES], data[-16:], name, len(data)).format


# --------------------------------------------------------------------------------------------------------------
# Readers
# --------------------------------------------------------------------------------------------------------------


def _read_parquet(src: _Source, limits: Limits) -> pa.Table:
    try:
        pf = pq.ParquetFile(src.open_arrow())
    except Exception as exc:
        tail = src.tail(4)
        if tail != b"PAR1":
            problem = "it is truncated or damaged (the end of the file, where Parquet keeps its footer, is missing)"
        else:
            problem = "it is damaged"
        raise InputError(
            f"{_q(src.name)} looks like a Parquet file but {problem}. Reader said: {_detail(exc)}",
            hint="Upload the complete file again, or re-export it.",
        ) from exc
    num_rows = pf.metadata.num_rows
    if num_rows > limits.max_rows:
        raise _too_many_rows(src.name, num_rows, limits)
    try:
        # One row group at a time (columns still decoded in parallel): decoding every row group at once
        # needs about twice the memory of the finished table at its peak.
        if pf.num_row_groups > 1:
            return pa.concat_tables([pf.read_row_group(i, use_threads=True) for i in range(pf.num_row_groups)])
        return pf.read(use_threads=True)
    except Exception as exc:
        raise InputError(
            f"{_q(src.name)} is a Parquet file but its data could not be read (it may be damaged). "
            f"Reader said: {_detail(exc)}",
            hint="Re-export the file.",
        ) from exc


def _read_arrow(src: _Source, limits: Limits) -> pa.Table:
    head = src.head(8)
    try:
        if head.startswith(b"ARROW1"):
            return pa_ipc.open_file(src.open_arrow()).read_all()  # memory-mapped: zero-copy when uncompressed
        if head.startswith(b"FEA1"):
            with warnings.catch_warnings():  # Feather v1 is deprecated in pyarrow, but still readable
                warnings.simplefilter("ignore", DeprecationWarning)
                return pa_feather.read_table(src.open_arrow())
        reader = pa_ipc.open_stream(src.open_arrow())
        batches, rows = [], 0
        for batch in reader:
            rows += batch.num_rows
            if rows > limits.max_rows:
                raise _too_many_rows(src.name, None, limits)
            batches.append(batch)
        return pa.Table.from_batches(batches, schema=reader.schema)
    except LimitExceeded:
        raise
    except Exception as exc:
        raise InputError(
            f"{_q(src.name)} looks like an Arrow IPC / Feather file but could not be read: it may be truncated "
            f"or damaged. Reader said: {_detail(exc)}",
            hint="Upload the complete file again, or re-export it.",
        ) from exc


# ---- delimited text ------------------------------------------------------------------------------------------


_CONVERSION_ERROR = re.compile(r"In CSV column #(\d+): .*conversion error", re.IGNORECASE | re.DOTALL)


def _fallback_encoding(src: _Source) -> str:
    """cp1252 (a superset of latin-1's printable characters) if every byte decodes, else latin-1."""
    try:
        if src.data is not None:
            src.data.decode("cp1252")
        else:
            decoder = codecs.getincrementaldecoder("cp1252")()
            with open(src.path, "rb") as f:
                while chunk := f.read(_HASH_CHUNK * 8):
                    decoder.decode(chunk)
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


def _may_contain_newline(col: pa.ChunkedArray) -> bool:
    """Quick byte scan of a string column's data buffers for CR/LF (no false negatives)."""
    offset_type = np.int64 if pa.types.is_large_string(col.type) else np.int32
    for chunk in col.chunks:
        if len(chunk) == 0 or chunk.null_count == len(chunk):
            continue
        offsets = np.frombuffer(chunk.buffers()[1], dtype=offset_type)[chunk.offset : chunk.offset + len(chunk) + 1]
        data = np.frombuffer(chunk.buffers()[2], dtype=np.uint8)[int(offsets[0]) : int(offsets[-1])]
        step = 1 << 24
        for i in range(0, len(data), step):
            part = data[i : i + step]
            if (part == 10).any() or (part == 13).any():
                return True
    return False


def _string_columns_with_newlines(table: pa.Table) -> list[int]:
    found = []
    for i, col in enumerate(table.columns):
        if (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)) and col.null_count < len(col):
            if _may_contain_newline(col) and pc.any(pc.match_substring_regex(col, r"[\r\n]")).as_py():
                found.append(i)
    return found


def _read_delimited(src: _Source, sniffed: _Sniffed, notes: list[str]) -> pa.Table:
    fmt = sniffed.format
    label = _FORMAT_LABELS[fmt]
    delimiter = sniffed.delimiter or ("\t" if fmt == "tsv" else ",")
    encoding = initial_encoding = sniffed.encoding or "utf8"
    block_size = max(1024 * 1024, min(_CSV_BLOCK_SIZE, src.size + 1))
    newlines_in_values = False
    column_types: dict[str, pa.DataType] = {}
    header: list[str] | None = None
    last_error: Exception | None = None

    for _attempt in range(64):
        read_options = pa_csv.ReadOptions(block_size=block_size, encoding=encoding, use_threads=True)
        parse_options = pa_csv.ParseOptions(delimiter=delimiter, newlines_in_values=newlines_in_values)
        convert_options = pa_csv.ConvertOptions(column_types=column_types)
        try:
            table = pa_csv.read_csv(src.open_arrow(), read_options, parse_options, convert_options)
        except UnicodeDecodeError as exc:
            # non-UTF-8 bytes in the header (values with bad bytes come back as binary columns instead)
            if encoding == "utf8":
                encoding = _fallback_encoding(src)
                continue
            raise InputError(
                f"{_q(src.name)} could not be decoded as text ({encoding}). Reader said: {_detail(exc)}",
                hint="Save the file as UTF-8.",
            ) from exc
        except pa.ArrowInvalid as exc:
            last_error = exc
            msg = str(exc)
            if "Empty CSV file" in msg:
                raise InputError(f"{_q(src.name)} has no header and no rows.") from exc
            match = _CONVERSION_ERROR.search(msg)
            if match:
                # a column's type changed after the part pyarrow used for type inference: read it as text
                if header is None:
                    header = _csv_header(src, read_options, parse_options)
                idx = int(match.group(1))
                if header and idx < len(header) and header[idx] not in column_types:
                    column_types[header[idx]] = pa.string()
                    continue
            if "straddling" in msg or "straddles" in msg:
                if not newlines_in_values and _odd_quotes(src):
                    raise _unterminated_quote(src, None, None) from exc
                if block_size < min(_MAX_BLOCK_SIZE, src.size + 1):
                    block_size = min(_MAX_BLOCK_SIZE, max(block_size * 4, src.size + 1))
                    continue
                if _odd_quotes(src):
                    raise _unterminated_quote(src, None, None) from exc
            if not newlines_in_values and ("out of sync" in msg or "Expected" in msg):
                newlines_in_values = True  # quoted values spanning lines
                continue
            if "Expected" in msg and "columns" in msg:
                if _odd_quotes(src):
                    raise _unterminated_quote(src, None, None, detail=_detail(msg, 160)) from exc
                raise InputError(
                    f"{_q(src.name)} could not be read as {label}: a row has a different number of fields than "
                    f"the header (the detected delimiter is {_delimiter_name(delimiter)}). Reader said: "
                    f"{_detail(msg)}",
                    hint="Check that every row has as many fields as the header, and that values containing the "
                    "delimiter are quoted.",
                ) from exc
            raise InputError(
                f"{_q(src.name)} could not be read as {label}. Reader said: {_detail(msg)}",
                hint="Check the file's delimiter and quoting.",
            ) from exc
        except pa.ArrowException as exc:
            raise InputError(f"{_q(src.name)} could not be read as {label}. Reader said: {_detail(exc)}") from exc

        try:
            table.schema.names  # noqa: B018 - header names that are not valid UTF-8 only fail when decoded
        except UnicodeDecodeError:
            if encoding == "utf8":
                encoding = _fallback_encoding(src)
                continue
            raise InputError(f"{_q(src.name)}: the header could not be decoded as {encoding} text.") from None
        if encoding == "utf8" and any(pa.types.is_binary(f.type) for f in table.schema):
            # pyarrow reads values that are not valid UTF-8 as binary: decode the file with a fallback encoding
            encoding = _fallback_encoding(src)
            continue

        newline_cols = _string_columns_with_newlines(table)
        if newline_cols and not newlines_in_values:
            # values span lines: re-read with the quote-aware chunker so block boundaries cannot split a value
            newlines_in_values = True
            continue
        if newline_cols and table.num_rows and _odd_quotes(src):
            last = table.slice(table.num_rows - 1)
            for i in newline_cols:
                value = last.column(i)[0].as_py()
                if isinstance(value, str) and ("\n" in value or "\r" in value):
                    raise _unterminated_quote(src, table.column_names[i], table.num_rows)
        break
    else:  # pragma: no cover - defensive
        raise InputError(f"{_q(src.name)} could not be read as {label}. Reader said: {_detail(last_error or '')}")

    if encoding != initial_encoding:
        names = {"cp1252": "Windows-1252 (cp1252)", "latin-1": "Latin-1 (ISO-8859-1)"}
        notes.append(
            f"{_q(src.name)} is not valid UTF-8; it was read as {names.get(encoding, encoding)}, where every byte "
            f"is a character, so nothing was lost. If accented letters look wrong, save the file as UTF-8."
        )
    elif sniffed.encoding:
        notes.append(f"{_q(src.name)} was read as {sniffed.encoding.upper()} text (detected from its content).")
    if delimiter not in (",", "\t"):
        notes.append(f"{_q(src.name)} was read with {_delimiter_name(delimiter)} as the delimiter.")
    return table


def _delimiter_name(delimiter: str) -> str:
    return {",": "comma", "\t": "tab", ";": "semicolon", "|": "pipe"}.get(delimiter, repr(delimiter))


def _csv_header(src: _Source, read_options, parse_options) -> list[str] | None:
    try:
        return pa_csv.open_csv(src.open_arrow(), read_options=read_options, parse_options=parse_options).schema.names
    except Exception:
        return None


def _odd_quotes(src: _Source) -> bool:
    return src.count(b'"') % 2 == 1


def _unterminated_quote(src: _Source, column: str | None, row: int | None, detail: str | None = None) -> InputError:
    where = ""
    if column is not None and row is not None:
        where = (
            f" It opens in column {_q(column)} of row {row:,}, and everything after it would be swallowed into "
            f"one value."
        )
    elif detail:
        where = f" Reader said: {detail}"
    return InputError(
        f"{_q(src.name)} has a quote (\") that is never closed, so its rows cannot be separated reliably.{where}",
        hint='Close the quote, or write a quote that is part of a value as two quotes ("").',
    )


# ---- JSON ----------------------------------------------------------------------------------------------------


class _ConcatStream(io.RawIOBase):
    """Read-only stream over ``prefix + file + suffix`` without concatenating them in memory."""

    def __init__(self, prefix: bytes, inner, suffix: bytes):
        super().__init__()
        self._parts = [io.BytesIO(prefix), inner, io.BytesIO(suffix)]

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        view = memoryview(b)
        while self._parts:
            n = self._parts[0].readinto(view)
            if n:
                return n
            self._parts.pop(0).close()
        return 0

    def close(self) -> None:
        for part in self._parts:
            part.close()
        self._parts = []
        super().close()


class _DuplicateKey(ValueError):
    def __init__(self, keys: list[str]):
        super().__init__(keys)
        self.keys = keys


def _pairs_hook(pairs: list[tuple[str, Any]]) -> dict:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        dupes = []
        for k, _ in pairs:
            if k in seen and k not in dupes:
                dupes.append(k)
            seen.add(k)
        raise _DuplicateKey(dupes)
    return result


def _to_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, int, float, list, dict)):
        try:
            return json.dumps(value, ensure_ascii=False, default=str)
        except (TypeError, ValueError):
            return str(value)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", errors="backslashreplace")
    return str(value)


_CONVERSION_ERRORS = (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError, TypeError, ValueError)


def _values_to_array(values: list, type_: pa.DataType | None = None) -> pa.Array:
    """``values`` as an Arrow array; a column of mixed types comes back as strings (nothing dropped)."""
    if type_ is not None and not pa.types.is_string(type_):
        try:
            return pa.array(values, type=type_)
        except _CONVERSION_ERRORS:
            pass
    if type_ is None:
        try:
            return pa.array(values)
        except _CONVERSION_ERRORS:
            pass
    try:
        return pa.array(values, type=pa.string())
    except _CONVERSION_ERRORS:
        return pa.array([None if v is None else _to_text(v) for v in values], type=pa.string())


def _records_to_table(records: list, name: str, container: str = "JSON array") -> pa.Table:
    names: dict[str, None] = {}
    for i, record in enumerate(records):
        if not isinstance(record, dict):
            kind = {list: "an array", str: "a string", bool: "a boolean", int: "a number", float: "a number"}.get(
                type(record), "null" if record is None else type(record).__name__
            )
            raise InputError(
                f"{_q(name)} is a {container}, but item {i + 1} is {kind}, not a record (an object with named "
                f"fields).",
                hint='Use one object per row, e.g. [{"id": 1, "score": 0.5}, ...].',
            )
        for key in record:
            names.setdefault(key)
    arrays = [_values_to_array([r.get(k) for r in records]) for k in names]
    return pa.Table.from_arrays(arrays, names=list(names)) if names else pa.table({})


def _columns_to_table(columns: dict[str, list]) -> pa.Table:
    return pa.Table.from_arrays([_values_to_array(v) for v in columns.values()], names=list(columns))


def _object_to_table(obj: dict, name: str) -> pa.Table:
    """A single JSON object: columns (of lists or of index->value objects), a wrapper, or one record."""
    if set(obj) in ({"columns", "data"}, {"columns", "index", "data"}) and isinstance(obj["columns"], list):
        cols, rows = obj["columns"], obj["data"]  # pandas to_json(orient="split")
        if (
            isinstance(rows, list)
            and all(isinstance(r, list) and len(r) == len(cols) for r in rows)
            and len(set(map(str, cols))) == len(cols)
        ):
            return _columns_to_table({str(c): [r[i] for r in rows] for i, c in enumerate(cols)})
    values = list(obj.values())
    if obj and all(isinstance(v, list) for v in values) and len({len(v) for v in values}) == 1:
        if len(obj) > 1 or not all(isinstance(x, dict) for x in values[0]):
            return _columns_to_table(obj)  # {"a": [1, 2], "b": [3, 4]}
    if obj and all(isinstance(v, dict) and v for v in values):
        keys = list(values[0])
        if all(list(v) == keys for v in values):  # pandas to_json() default: {"col": {"0": v, "1": v}}
            return _columns_to_table({k: [v[i] for i in keys] for k, v in obj.items()})
    for key in ("data", "records", "rows"):  # {"data": [{...}, ...]} (pandas orient="table" too)
        inner = obj.get(key)
        if isinstance(inner, list) and inner and all(isinstance(r, dict) for r in inner):
            if len(obj) == 1 or key == "data":
                return _records_to_table(inner, name)
    return _records_to_table([obj], name)  # a single record


def _json_error(src: _Source, exc: Exception, label: str = "JSON") -> InputError:
    if isinstance(exc, _DuplicateKey):
        keys = ", ".join(_q(k) for k in exc.keys)
        return InputError(
            f"{_q(src.name)} has duplicate field names in a record: {keys}. Each field name can appear only once.",
            hint="Rename or remove the duplicated fields.",
        )
    if isinstance(exc, json.JSONDecodeError):
        return InputError(
            f"{_q(src.name)} is not valid {label}: {exc.msg} at line {exc.lineno}, column {exc.colno}.",
            hint="The file may be truncated, or not JSON at all.",
        )
    return InputError(f"{_q(src.name)} could not be read as {label}. Reader said: {_detail(exc)}")


def _json_text(src: _Source, notes: list[str], encoding: str | None) -> str:
    raw = src.read_bytes()
    if encoding:
        return raw.decode(encoding).lstrip("\ufeff")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        enc = _fallback_encoding(src)
        notes.append(
            f"{_q(src.name)} is not valid UTF-8; it was read as {enc}, where every byte is a character, so nothing "
            f"was lost."
        )
        return raw.decode(enc)


def _utf8_source(src: _Source, text: str) -> _Source:
    data = text.encode("utf-8")
    return _Source(src.name, len(data), data=data, file_name=src.file_name)


def _read_json(src: _Source, sniffed: _Sniffed, notes: list[str]) -> pa.Table:
    head = src.head(4096)
    if sniffed.encoding is None and head.lstrip(b" \t\r\n\xef\xbb\xbf").startswith(b"["):
        # Fast path: wrap the array as {"r": [...]} so that pyarrow's JSON reader parses it in one block.
        block = min(_MAX_BLOCK_SIZE, src.size + 64)
        try:
            with pa.PythonFile(_ConcatStream(b'{"r":', src.open_python(), b"}\n"), mode="r") as stream:
                wrapped = pa_json.read_json(stream, read_options=pa_json.ReadOptions(block_size=block))
            column = wrapped.column("r")
            if column.num_chunks == 1 and pa.types.is_struct(column.type.value_type):
                return pa.Table.from_struct_array(column.chunk(0).flatten())
        except (pa.ArrowException, UnicodeDecodeError, ValueError):
            pass  # mixed types, duplicate keys, bad bytes, invalid JSON: the slower path below explains or copes
    text = _json_text(src, notes, sniffed.encoding)
    try:
        obj = json.loads(text, object_pairs_hook=_pairs_hook)
    except _DuplicateKey as exc:
        raise _json_error(src, exc) from exc
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data":  # several JSON values one after another: treat as JSON Lines
            return _read_jsonl(_utf8_source(src, text), _Sniffed("jsonl"), notes, multiline=True)
        raise _json_error(src, exc) from exc
    if isinstance(obj, list):
        return _records_to_table(obj, src.name)
    if isinstance(obj, dict):
        return _object_to_table(obj, src.name)
    raise InputError(
        f"{_q(src.name)} is JSON, but it holds a single {type(obj).__name__} value, not a table.",
        hint='Use an array of records, e.g. [{"id": 1, "score": 0.5}, ...].',
    )


def _read_jsonl(src: _Source, sniffed: _Sniffed, notes: list[str], multiline: bool = False) -> pa.Table:
    label = _FORMAT_LABELS["jsonl"]
    if sniffed.encoding is None:
        block = max(1024 * 1024, min(64 * 1024 * 1024, src.size + 1))
        while True:
            try:
                return pa_json.read_json(
                    src.open_arrow(),
                    read_options=pa_json.ReadOptions(block_size=block),
                    parse_options=pa_json.ParseOptions(newlines_in_values=multiline),
                )
            except pa.ArrowInvalid as exc:
                if "straddl" in str(exc) and block < min(_MAX_BLOCK_SIZE, src.size + 1):
                    block = min(_MAX_BLOCK_SIZE, max(block * 4, src.size + 1))
                    continue
                break  # mixed types, duplicate keys, invalid lines: the Python path copes or explains
            except (pa.ArrowException, UnicodeDecodeError):
                break
    text = _json_text(src, notes, sniffed.encoding)
    decoder = json.JSONDecoder(object_pairs_hook=_pairs_hook)
    records = []
    try:
        if multiline:
            pos, end = 0, len(text)
            while True:
                while pos < end and text[pos] in " \t\r\n":
                    pos += 1
                if pos >= end:
                    break
                obj, pos = decoder.raw_decode(text, pos)
                records.append(obj)
        else:
            for lineno, line in enumerate(text.split("\n"), start=1):  # not splitlines(): JSON allows U+2028
                if line.strip():
                    try:
                        records.append(decoder.decode(line))
                    except json.JSONDecodeError as exc:
                        raise InputError(
                            f"{_q(src.name)} is not valid {label}: line {lineno:,} is not a JSON object "
                            f"({exc.msg} at column {exc.colno}).",
                            hint="Each line must hold one complete JSON object; the file may be truncated.",
                        ) from exc
    except (_DuplicateKey, json.JSONDecodeError) as exc:
        raise _json_error(src, exc, label) from exc
    return _records_to_table(records, src.name, container="JSON Lines file")


# ---- Avro ----------------------------------------------------------------------------------------------------


def _avro_to_arrow(schema: Any, named: dict[str, Any]) -> pa.DataType | None:
    """Arrow type for an Avro (fastavro-parsed) schema, or None when values should be inferred instead."""
    if isinstance(schema, str):
        if schema in named:
            return _avro_to_arrow(named[schema], named)
        return {
            "null": pa.null(),
            "boolean": pa.bool_(),
            "int": pa.int32(),
            "long": pa.int64(),
            "float": pa.float32(),
            "double": pa.float64(),
            "bytes": pa.binary(),
            "string": pa.string(),
        }.get(schema)
    if isinstance(schema, list):  # union
        branches = [s for s in schema if s != "null"]
        return _avro_to_arrow(branches[0], named) if len(branches) == 1 else None
    if not isinstance(schema, dict):
        return None
    kind = schema.get("type")
    logical = schema.get("logicalType")
    if logical == "date" and kind == "int":
        return pa.date32()
    if logical in ("timestamp-millis", "timestamp-micros") and kind == "long":
        return pa.timestamp("ms" if logical.endswith("millis") else "us", tz="UTC")
    if logical in ("local-timestamp-millis", "local-timestamp-micros") and kind == "long":
        return pa.timestamp("ms" if logical.endswith("millis") else "us")
    if logical == "time-millis" and kind == "int":
        return pa.time32("ms")
    if logical == "time-micros" and kind == "long":
        return pa.time64("us")
    if logical == "decimal" and kind in ("bytes", "fixed"):
        precision, scale = int(schema.get("precision", 38)), int(schema.get("scale", 0))
        return pa.decimal128(precision, scale) if precision <= 38 else pa.decimal256(precision, scale)
    if logical == "uuid" and kind == "string":
        return pa.string()  # fastavro returns uuid.UUID objects: kept as their text form, as stored
    if logical is not None and kind in ("string", "fixed", "bytes"):
        return None  # other logical types: infer from the values
    if kind == "record":
        fields = []
        for f in schema.get("fields", []):
            t = _avro_to_arrow(f["type"], named)
            if t is None:
                return None
            fields.append(pa.field(f["name"], t))
        return pa.struct(fields)
    if kind == "enum":
        return pa.string()
    if kind == "fixed":
        return pa.binary(int(schema["size"]))
    if kind == "array":
        t = _avro_to_arrow(schema.get("items"), named)
        return pa.list_(t) if t is not None else None
    if kind == "map":
        t = _avro_to_arrow(schema.get("values"), named)
        return pa.map_(pa.string(), t) if t is not None else None
    if isinstance(kind, (str, list, dict)) and kind not in ("record", "enum", "fixed", "array", "map"):
        return _avro_to_arrow(kind, named)
    return None


def _collect_named(schema: Any, named: dict[str, Any]) -> None:
    if isinstance(schema, list):
        for s in schema:
            _collect_named(s, named)
    elif isinstance(schema, dict):
        if schema.get("type") in ("record", "enum", "fixed") and "name" in schema:
            named[schema["name"]] = schema
        for f in schema.get("fields", []) or []:
            _collect_named(f.get("type"), named)
        for key in ("items", "values"):
            if key in schema:
                _collect_named(schema[key], named)


def _read_avro(src: _Source, limits: Limits) -> pa.Table:
    import fastavro

    try:
        with src.open_python() as f:
            reader = fastavro.reader(f)
            schema = reader.writer_schema
            records = []
            for record in reader:
                records.append(record)
                if len(records) > limits.max_rows:
                    raise _too_many_rows(src.name, None, limits)
    except LimitExceeded:
        raise
    except Exception as exc:
        raise InputError(
            f"{_q(src.name)} looks like an Avro file but could not be read: it may be truncated or damaged. "
            f"Reader said: {_detail(exc)}",
            hint="Upload the complete file again, or re-export it.",
        ) from exc

    named: dict[str, Any] = {}
    _collect_named(schema, named)
    if not (isinstance(schema, dict) and schema.get("type") == "record"):
        return pa.table({"value": _values_to_array(records, _avro_to_arrow(schema, named))})
    fields = schema.get("fields", [])
    types = [_avro_to_arrow(f["type"], named) for f in fields]
    names = [f["name"] for f in fields]
    if all(t is not None for t in types) and fields:
        try:
            struct = pa.array(records, type=pa.struct([pa.field(n, t) for n, t in zip(names, types)]))
            return pa.Table.from_struct_array(struct)
        except (pa.ArrowException, TypeError, ValueError, OverflowError):
            pass
    arrays = [_values_to_array([r.get(n) for r in records], t) for n, t in zip(names, types)]
    return pa.Table.from_arrays(arrays, names=names)


# --------------------------------------------------------------------------------------------------------------
# Embedding vectors
# --------------------------------------------------------------------------------------------------------------

# unambiguous number syntax (one way to match each number, so a failing match cannot backtrack exponentially)
_NUM = r"[-+]?(?:\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|(?i:nan|inf|infinity))"
# cells that mean "no vector" in text files: pyarrow's default CSV null markers, plus Python's None
_NULL_TOKENS = frozenset(
    ["", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "N/A", "NA",
     "NULL", "NaN", "n/a", "nan", "null", "None"]
)
_NULL_TOKEN_ARRAY = pa.array(sorted(_NULL_TOKENS), type=pa.string())
_VECTOR_SAMPLE_RE = re.compile(rf"\[\s*(?:{_NUM}(?:\s*,\s*|\s+))*(?:{_NUM})?\s*\]")


def _is_list_type(t: pa.DataType) -> bool:
    return pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t)


# Vectors are stored as variable-length lists when over half of them are missing and fixed-size storage would
# reserve more than 64 MB for those missing rows.
_SPARSE_SHARE = 0.5
_SPARSE_BYTES = 64 * 1024 * 1024


def _compact_list(chunk: pa.Array) -> pa.ListArray:
    """``chunk`` as list<float32> whose null rows own no values."""
    lengths = pc.fill_null(pc.list_value_length(chunk), 0).to_numpy(zero_copy_only=False).astype(np.int32)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    values = pc.cast(pc.list_flatten(chunk), pa.float32())
    return pa.ListArray.from_arrays(pa.array(offsets), values, mask=chunk.is_null())


def _vectorise_lists(col: pa.ChunkedArray) -> pa.ChunkedArray | None:
    """A list column of numbers as float32 vectors (fixed-size if all non-null rows agree), or None to keep it."""
    t = col.type
    if not _is_list_type(t):
        return None
    vt = t.value_type
    if not (pa.types.is_integer(vt) or pa.types.is_floating(vt)):
        return None
    if col.null_count == len(col):
        return None
    width = t.list_size if pa.types.is_fixed_size_list(t) else (pc.max(pc.list_value_length(col)).as_py() or 0)
    sparse = col.null_count > _SPARSE_SHARE * len(col) and col.null_count * width * 4 > _SPARSE_BYTES
    if pa.types.is_fixed_size_list(t) and vt == pa.float32() and not sparse:
        return None
    values = pc.list_flatten(col)
    if len(values) and values.null_count < len(values):
        if pa.types.is_integer(vt):
            mm = pc.min_max(values).as_py()
            if max(abs(mm["min"]), abs(mm["max"])) > _FLOAT32_EXACT_INT:
                return None  # would not survive float32 exactly: keep the integers as read
        elif vt == pa.float64():
            finite = pc.filter(values, pc.is_finite(values))
            if len(finite) and pc.max(pc.abs(finite)).as_py() > _FLOAT32_MAX:
                return None  # would overflow float32 to inf
    lengths = pc.min_max(pc.list_value_length(col)).as_py()
    lo, hi = lengths["min"], lengths["max"]
    if not hi:
        return None  # only empty lists: nothing to call a vector
    if lo == hi and not sparse:
        return col.cast(pa.list_(pa.float32(), lo))
    if sparse:
        # Fixed-size lists (in Arrow and in DuckDB) reserve room for every row, null or not: with many missing
        # vectors that multiplies memory, so keep a variable-length list holding only the vectors present.
        return pa.chunked_array([_compact_list(c) for c in col.chunks], type=pa.list_(pa.float32()))
    try:
        return col.cast(pa.list_(pa.float32()))
    except pa.ArrowException:
        return col.cast(pa.large_list(pa.float32()))


def _map_chunks(fn, chunks: list) -> list:
    """``[fn(c) for c in chunks]``, in parallel threads for big inputs (pyarrow compute releases the GIL)."""
    if len(chunks) < 2 or sum(c.nbytes for c in chunks) < 8 * 1024 * 1024:
        return [fn(c) for c in chunks]
    return list(_compute_pool().map(fn, chunks))


def _all_bracketed(col: pa.ChunkedArray) -> bool:
    return bool(pc.all(pc.starts_with(col, "[")).as_py() and pc.all(pc.ends_with(col, "]")).as_py())


def _vectorise_strings(col: pa.ChunkedArray) -> pa.ChunkedArray | None:
    """A string column whose non-null values all look like "[0.1, 0.2, ...]" as float32 vectors, else None."""
    t = col.type
    if not (pa.types.is_string(t) or pa.types.is_large_string(t)):
        return None
    nonnull = len(col) - col.null_count
    if nonnull == 0:
        return None
    # cheap rejection on a sample before touching the whole column
    sample = col.slice(0, 500).drop_null()
    if len(sample) == 0:
        sample = col.drop_null().slice(0, 500)
    sample_values = [v.strip() for v in sample.to_pylist()]
    sample_values = [v for v in sample_values if v not in _NULL_TOKENS][:20]
    if not sample_values or not all(_VECTOR_SAMPLE_RE.fullmatch(v) for v in sample_values):
        return None
    trimmed = col
    if not _all_bracketed(trimmed):
        # tolerate surrounding whitespace, and cells that mean "missing" (an empty CSV cell is "", not null)
        trimmed = pc.utf8_trim_whitespace(col)
        nullish = pc.is_in(trimmed, value_set=_NULL_TOKEN_ARRAY.cast(trimmed.type))
        if pc.any(nullish).as_py():
            trimmed = pc.if_else(nullish, pa.scalar(None, trimmed.type), trimmed)
        if not _all_bracketed(trimmed):
            return None
    inner = pc.utf8_slice_codeunits(trimmed, 1, -1)
    empty = pc.equal(pc.binary_length(inner), 0)
    has_empty = bool(pc.any(empty).as_py())
    if has_empty:  # "[]": an empty vector
        inner = pc.if_else(empty, pa.scalar(None, inner.type), inner)
        if inner.null_count == len(inner):
            return None  # only "[]": nothing that looks like a vector

    # split on the separator the sample uses (fast, no regex); fall back to a regex split that accepts any mix
    sample_inner = [v[1:-1].strip() for v in sample_values if v[1:-1].strip()]
    attempts = []
    if sample_inner and all(", " in v for v in sample_inner):
        attempts.append(lambda a: pc.split_pattern(a, ", "))
    elif sample_inner and all("," in v for v in sample_inner):
        attempts.append(lambda a: pc.split_pattern(a, ","))
    elif sample_inner and not any("," in v for v in sample_inner):
        attempts.append(lambda a: pc.ascii_split_whitespace(pc.utf8_trim_whitespace(a)))
    attempts.append(lambda a: pc.split_pattern_regex(pc.utf8_trim_whitespace(a), r"\s*,\s*|\s+"))
    lists = None
    float_lists = pa.list_(pa.float32())
    for split in attempts:
        try:
            parsed = _map_chunks(lambda chunk, split=split: split(chunk).cast(float_lists), inner.chunks)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
        lists = pa.chunked_array(parsed, type=float_lists)
        break
    if lists is None:
        return None  # some value is not a list of numbers: keep the column as text
    if has_empty:
        lists = pc.if_else(empty, pa.scalar([], pa.list_(pa.float32())), lists)
    lengths = pc.min_max(pc.list_value_length(lists)).as_py()
    lo, hi = lengths["min"], lengths["max"]
    if hi is None or hi == 0:
        return None
    if lo == hi:
        return lists.cast(pa.list_(pa.float32(), lo))
    return lists


def _normalise_vectors(table: pa.Table, parse_strings: bool) -> pa.Table:
    for i, field in enumerate(table.schema):
        col = table.column(i)
        new = _vectorise_lists(col)
        if new is None and parse_strings:
            new = _vectorise_strings(col)
        if new is not None:
            table = table.set_column(i, pa.field(field.name, new.type, nullable=True, metadata=field.metadata), new)
    return table


# --------------------------------------------------------------------------------------------------------------
# In-memory sources
# --------------------------------------------------------------------------------------------------------------


def _dataframe_to_table(df: pd.DataFrame) -> pa.Table:
    if any(n is not None for n in df.index.names):
        try:
            df = df.reset_index()
        except ValueError:  # an index level shares its name with a column
            df = df.reset_index(allow_duplicates=True)
    names = [str(c) for c in df.columns]
    if len(set(names)) == len(names) and all(isinstance(c, str) for c in df.columns):
        try:
            return pa.Table.from_pandas(df, preserve_index=False)
        except (pa.ArrowException, TypeError, ValueError, OverflowError):
            pass
    arrays = []
    for i in range(df.shape[1]):
        series = df.iloc[:, i]
        try:
            arrays.append(pa.array(series, from_pandas=True))
        except (pa.ArrowException, TypeError, ValueError, OverflowError):
            arrays.append(
                pa.array([None if _is_missing(v) else _to_text(v) for v in series.tolist()], type=pa.string())
            )
    return pa.Table.from_arrays(arrays, names=names)


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        result = pd.isna(value)
    except (TypeError, ValueError):
        return False
    return bool(result) if isinstance(result, bool) or getattr(result, "ndim", 1) == 0 else False


def _fingerprint_table(table: pa.Table) -> tuple[str, int]:
    sink = _HashSink()
    with pa_ipc.new_stream(pa.PythonFile(sink, mode="w"), table.schema) as writer:
        writer.write_table(table)
    return sink.hash.hexdigest(), sink.size


def _read_in_memory(table: pa.Table, name: str, limits: Limits) -> Dataset:
    if table.num_rows > limits.max_rows:
        raise _too_many_rows(name, table.num_rows, limits)
    if table.nbytes > limits.max_bytes:
        raise _too_big(name, table.nbytes, limits, what="takes")
    if table.num_rows == 0:
        raise InputError(f"{_q(name)} has no rows.", hint="Provide a table with at least one row.")
    if table.num_columns == 0:
        raise InputError(f"{_q(name)} has no columns.")
    fingerprint, size = _fingerprint_table(table)
    table = _normalise_vectors(table, parse_strings=True)
    return Dataset(name=name, table=table, fingerprint=fingerprint, source_format="dataframe", size_bytes=size)


# --------------------------------------------------------------------------------------------------------------
# read()
# --------------------------------------------------------------------------------------------------------------


def _source_from(source: Any, name: str | None, limits: Limits) -> tuple[_Source, Future | str]:
    if isinstance(source, (str, os.PathLike)):
        path = Path(os.path.expanduser(os.fspath(source)))
        display = name or path.name or str(path)
        try:
            stat = path.stat()
        except FileNotFoundError:
            raise InputError(f"{_q(display)} was not found (no file at {path}).") from None
        except OSError as exc:
            raise InputError(f"{_q(display)} cannot be opened: {exc.strerror or exc}.") from None
        if path.is_dir():
            raise InputError(f"{_q(display)} is a folder, not a file.", hint="Pick a single data file.")
        if stat.st_size > limits.max_bytes:
            raise _too_big(display, stat.st_size, limits)
        if stat.st_size == 0:
            raise InputError(f"{_q(display)} is empty (0 bytes).", hint="Upload a file that contains data.")
        if not os.access(path, os.R_OK):
            raise InputError(f"{_q(display)} cannot be opened: permission denied.")
        src = _Source(display, stat.st_size, path=str(path), file_name=path.name)
        return src, _pool().submit(_hash_file, str(path))

    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        display = name or "upload"
        file_name = name
    elif hasattr(source, "read"):
        file_name = _file_like_name(source)
        display = name or file_name or "upload"
        size = getattr(source, "size", None)
        if not isinstance(size, int):
            size = _remaining_size(source)
        if isinstance(size, int) and size > limits.max_bytes:
            raise _too_big(display, size, limits)
        try:
            if hasattr(source, "getvalue"):
                data = source.getvalue()
            else:
                data = source.read(limits.max_bytes + 1)
        except Exception as exc:
            raise InputError(f"{_q(display)} could not be read: {_detail(exc)}") from exc
        if isinstance(data, str):
            raise InputError(f"{_q(display)} was opened in text mode; open it in binary mode ('rb').")
        data = bytes(data)
    else:
        raise InputError(
            f"Cannot read a {type(source).__name__}: pass a file path, the bytes of a file, a file object, "
            f"a pandas DataFrame or a pyarrow Table."
        )
    if len(data) > limits.max_bytes:
        raise _too_big(display, len(data), limits)
    if not data:
        raise InputError(f"{_q(display)} is empty (0 bytes).", hint="Upload a file that contains data.")
    src = _Source(display, len(data), data=data, file_name=file_name)
    if len(data) >= 1024 * 1024:
        return src, _pool().submit(fingerprint_bytes, data)
    return src, fingerprint_bytes(data)


def _remaining_size(obj: Any) -> int | None:
    """Bytes left in a seekable file object (without reading them), else None."""
    try:
        if not obj.seekable():
            return None
        pos = obj.tell()
        end = obj.seek(0, os.SEEK_END)
        obj.seek(pos)
        return end - pos
    except Exception:
        return None


def _file_like_name(obj: Any) -> str | None:
    raw = getattr(obj, "name", None)
    if isinstance(raw, (str, os.PathLike)):
        return os.path.basename(os.fspath(raw)) or None
    return None


def _gunzip(src: _Source, limits: Limits) -> _Source:
    chunks: list[bytes] = []
    total = 0
    try:
        with src.open_python() as raw, gzip.GzipFile(fileobj=raw) as g:
            while chunk := g.read(_HASH_CHUNK * 8):
                total += len(chunk)
                if total > limits.max_bytes:
                    raise LimitExceeded(
                        f"{_q(src.name)} decompresses to more than the size limit of "
                        f"{_human_bytes(limits.max_bytes)} ({limits.max_bytes:,} bytes).",
                        hint="Use a sample or a subset of the data, or raise the size limit.",
                    )
                chunks.append(chunk)
    except LimitExceeded:
        raise
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(
            f"{_q(src.name)} is gzip-compressed but could not be decompressed: it may be truncated or damaged. "
            f"({_detail(exc)})",
            hint="Upload the complete file again.",
        ) from exc
    data = b"".join(chunks)
    if not data:
        raise InputError(f"{_q(src.name)} is gzip-compressed but contains no data.")
    return _Source(src.name, len(data), data=data, file_name=src.file_name)  # the extension hint ignores ".gz"


def _normalise_format(fmt: str) -> str:
    key = fmt.lower().lstrip(".")
    if key not in _FORMAT_ALIASES:
        raise InputError(
            f"Unknown format {fmt!r}: use one of csv, tsv, parquet, json, jsonl, avro, arrow (or leave it out to "
            f"detect the format from the content)."
        )
    return _FORMAT_ALIASES[key]


def read(
    source: Any,
    *,
    name: str | None = None,
    format: str | None = None,  # noqa: A002 - public API name
    limits: Limits = Limits(),
) -> Dataset:
    """Read ``source`` into a :class:`Dataset`.

    ``source`` is a file path (str / Path), the bytes of an upload (``name`` gives the file name: used as a hint
    for the format and as ``Dataset.name``), a binary file-like object (``.getvalue()`` is used if present, else
    ``.read()``; its ``.name`` is used when ``name`` is None), a pandas DataFrame or a pyarrow Table.
    ``format`` forces a format instead of detecting it from the content.
    """
    if isinstance(source, pd.DataFrame):
        display = name or "DataFrame"
        try:
            table = _dataframe_to_table(source)
        except Exception as exc:  # pragma: no cover - defensive
            raise InputError(f"{_q(display)} could not be converted to a table: {_detail(exc)}") from exc
        return _read_in_memory(table, display, limits)
    if isinstance(source, pa.Table):
        return _read_in_memory(source, name or "table", limits)
    if isinstance(source, pa.RecordBatch):
        return _read_in_memory(pa.Table.from_batches([source]), name or "table", limits)

    src, fingerprint = _source_from(source, name, limits)
    size_bytes = src.size
    display = src.name
    if src.head(2) == b"\x1f\x8b":
        src = _gunzip(src, limits)
    if format is not None:
        fmt = _normalise_format(format)
        if fmt == "dataframe":  # pragma: no cover - only for in-memory sources
            raise InputError("format='dataframe' is only for DataFrames and Arrow tables.")
        head = src.head()
        sniffed = _Sniffed(
            fmt,
            delimiter={"csv": ",", "tsv": "\t"}.get(fmt),
            encoding=_text_encoding(head) if fmt in ("csv", "tsv", "json", "jsonl") else None,
        )
    else:
        sniffed = _sniff(src.head(), src.tail(16), src.name, src.size, src.file_name)
    table, notes = _read_table(src, sniffed, limits)

    if table.num_rows > limits.max_rows:
        raise _too_many_rows(display, table.num_rows, limits)
    if table.num_rows == 0:
        what = f"only a header ({table.num_columns} columns)" if table.num_columns else "no columns either"
        raise InputError(
            f"{_q(display)} has no rows: it has {what}.", hint="Upload a file with at least one data row."
        )
    if table.num_columns == 0:
        raise InputError(f"{_q(display)} has no columns.")
    table = _normalise_vectors(table, parse_strings=sniffed.format in ("csv", "tsv", "json", "jsonl"))
    try:
        digest = fingerprint.result() if isinstance(fingerprint, Future) else fingerprint
    except OSError as exc:
        raise InputError(f"{_q(display)} could not be read to the end: {exc.strerror or exc}.") from exc
    return Dataset(
        name=display,
        table=table,
        fingerprint=digest,
        source_format=sniffed.format,
        size_bytes=size_bytes,
        notes=tuple(notes),
    )


def _pandas_index_note(table: pa.Table, name: str) -> str | None:
    """Files written by pandas keep a non-default index as a column named like "__index_level_0__"."""
    try:
        meta = table.schema.pandas_metadata or {}
    except (ValueError, TypeError):
        return None
    stored = [c for c in meta.get("index_columns", []) if isinstance(c, str) and c in table.column_names]
    if not stored:
        return None
    return (
        f"{_q(name)} was written by pandas with its index stored as column(s) {', '.join(map(_q, stored))}; "
        f"it is kept as an ordinary column."
    )


def _read_table(src: _Source, sniffed: _Sniffed, limits: Limits) -> tuple[pa.Table, list[str]]:
    notes: list[str] = []
    fmt = sniffed.format
    if fmt in ("parquet", "arrow"):
        table = _read_parquet(src, limits) if fmt == "parquet" else _read_arrow(src, limits)
        note = _pandas_index_note(table, src.name)
        return table, [note] if note else notes
    if fmt == "avro":
        return _read_avro(src, limits), notes
    if fmt in ("csv", "tsv"):
        return _read_delimited(src, sniffed, notes), notes
    if fmt == "json":
        return _read_json(src, sniffed, notes), notes
    if fmt == "jsonl":
        return _read_jsonl(src, sniffed, notes), notes
    raise InputError(f"{_q(src.name)}: unsupported format {fmt!r}.")  # pragma: no cover
