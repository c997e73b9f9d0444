"""Each work unit's records to its writer (``stages/io/shard_writer.write_unit``), without a shuffle.

A window's records are materialised in Ray's object store (dedup holds them there already); one
small task a block lists the units it holds, and one task a unit reads only those blocks, keeps
its own rows and writes the unit. Ray Data's ``groupby(work_unit).map_groups`` reaches the same
end by sorting every record, image bytes and all, through a shuffle, which cost 5-6 s of
scheduling a window on 2 cores for a few thousand rows (the tasks themselves took 0.2 s).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pyarrow as pa
import pyarrow.compute as pc
import ray
import ray.data

from stages.io.shard_writer import write_unit


def write_units(records: ray.data.Dataset, finish: Callable[[pa.Table], pa.Table] | None = None, **write_kwargs) -> Iterator[dict]:
    """Write every unit found in ``records``; yields each unit's summary row as its writer finishes.
    ``finish``, where given, is applied to each unit's rows first (the marks of a global stage that
    ends the plan: one pass over the window's records, and one copy of them, less)."""
    blocks = records.to_arrow_refs()
    del records  # its lineage holds the blocks of earlier materialisations (dedup's): let them go
    holders: dict[int, list[ray.ObjectRef]] = {}
    for block, units in zip(blocks, ray.get([_units_in.remote(block) for block in blocks])):
        for unit in units:
            holders.setdefault(unit, []).append(block)
    pending = [_write_unit.remote(unit, write_kwargs, finish, *holders[unit]) for unit in sorted(holders)]
    while pending:
        finished, pending = ray.wait(pending, num_returns=1)
        yield from ray.get(finished[0]).to_pylist()


@ray.remote
def _units_in(block: pa.Table) -> list[int]:
    return pc.unique(block.column("work_unit")).to_pylist()


@ray.remote
def _write_unit(unit: int, write_kwargs: dict, finish: Callable[[pa.Table], pa.Table] | None, *blocks: pa.Table) -> pa.Table:
    rows = pa.concat_tables([block.filter(pc.equal(block.column("work_unit"), unit)) for block in blocks])
    return write_unit(finish(rows) if finish else rows, **write_kwargs)
