"""The carried pixels through a stage's rows without copying them through Python.

A figure's normalised pixels (``schemas.records.PIXELS``, about 0.6 MB at 512 px) ride beside its
row through the CPU stages. Turned into ``bytes`` for every row and built back into a new Arrow
column after every stage, they cost about 4 ms a figure over the stages that carry them, most of it
building the new column. Instead ``process`` gets them as read-only views of the batch's own
buffer, and an output row that still holds its input's view takes that input's value by index:
the column is reused as it is when the rows come out as they went in, else taken in Arrow.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from schemas.records import PIXELS

CARRIED = PIXELS[0].name


def rows_with_views(live: pa.Table) -> tuple[list[dict[str, Any]], list[memoryview | None]]:
    """``live.to_pylist()``, with the carried column's values as views of its buffer."""
    views = binary_views(live.column(CARRIED))
    rows = live.drop_columns([CARRIED]).to_pylist()
    for row, view in zip(rows, views):
        row[CARRIED] = view
    return rows, views


def binary_views(column: pa.ChunkedArray) -> list[memoryview | None]:
    views: list[memoryview | None] = []
    for chunk in column.chunks:
        _validity, offsets_buffer, data_buffer = chunk.buffers()
        offset_type = np.int64 if pa.types.is_large_binary(chunk.type) else np.int32
        offsets = np.frombuffer(offsets_buffer, dtype=offset_type)[chunk.offset : chunk.offset + len(chunk) + 1].tolist()
        data = memoryview(data_buffer) if data_buffer is not None else memoryview(b"")
        valid = chunk.is_valid().to_pylist() if chunk.null_count else [True] * len(chunk)
        views.extend(data[offsets[i] : offsets[i + 1]] if valid[i] else None for i in range(len(chunk)))
    return views


def table_with_carried(rows: list[dict[str, Any]], schema: pa.Schema, column: pa.ChunkedArray, views: list[memoryview | None]) -> pa.Table:
    """``pa.Table.from_pylist(rows, schema)``, the carried column taken from ``column`` wherever a
    row holds one of its ``views``.

    The views are never handed to pyarrow's conversion, which keeps the buffer a buffer-protocol
    object views alive for good (a whole block's pixels, at every call, measured on pyarrow 23):
    ``binary_array`` copies every value once into a buffer of its own.
    """
    values = [row.pop(CARRIED, None) for row in rows]
    if len(values) == len(views) and all(value is view for value, view in zip(values, views)):
        carried = column
    else:
        carried = binary_array(values, column.type)
    field_index = schema.get_field_index(CARRIED)
    table = pa.Table.from_pylist(rows, schema=schema.remove(field_index))
    return table.add_column(field_index, schema.field(CARRIED), carried)


def binary_array(values: list[bytes | memoryview | None], type: pa.DataType) -> pa.Array:
    """A binary array of ``values`` (bytes, or views of other buffers), each copied once into one new
    buffer: a ``take`` from the batch's column beside the new values would first concatenate them
    all (every input value copied, used or not) and then copy what it takes."""
    lengths = np.fromiter((0 if value is None else len(value) for value in values), np.int64, len(values))
    offset_type = np.int64 if pa.types.is_large_binary(type) else np.int32
    offsets = np.zeros(len(values) + 1, offset_type)
    np.cumsum(lengths, out=offsets[1:])
    data = np.empty(int(offsets[-1]), np.uint8)
    for value, start, end in zip(values, offsets[:-1].tolist(), offsets[1:].tolist()):
        if end > start:
            data[start:end] = np.frombuffer(value, np.uint8)
    validity = None
    if any(value is None for value in values):
        validity = pa.array([value is not None for value in values], pa.bool_()).buffers()[1]
    return pa.Array.from_buffers(type, len(values), [validity, pa.py_buffer(offsets), pa.py_buffer(data)])
