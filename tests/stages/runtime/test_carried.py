import pyarrow as pa

from stages.runtime.carried import CARRIED, binary_views, rows_with_views, table_with_carried

SCHEMA = pa.schema([pa.field("key", pa.string()), pa.field(CARRIED, pa.binary())])


def table(keys, values):
    return pa.table({"key": keys, CARRIED: pa.array(values, pa.binary())}, schema=SCHEMA)


def test_views_read_the_values_of_sliced_chunks_with_nulls():
    column = pa.chunked_array([pa.array([b"ab", None, b"cde"], pa.binary()).slice(1), pa.array([b"", b"f"], pa.binary())])
    assert [None if view is None else bytes(view) for view in binary_views(column)] == [None, b"cde", b"", b"f"]


def test_rows_come_back_with_their_own_values_however_a_stage_reorders_repeats_or_replaces_them():
    live = table(["a", "b", "c"], [b"1", b"22", None])
    rows, views = rows_with_views(live)
    assert [(row["key"], None if row[CARRIED] is None else bytes(row[CARRIED])) for row in rows] == [("a", b"1"), ("b", b"22"), ("c", None)]

    same = table_with_carried([dict(row) for row in rows], SCHEMA, live.column(CARRIED), views)
    assert same.equals(live)
    # rows out as they came in: the batch's own buffer, not a copy
    assert same.column(CARRIED).chunks[0].buffers()[2].address == live.column(CARRIED).chunks[0].buffers()[2].address

    fanned = [{**rows[1], "key": "b1"}, {**rows[1], "key": "b2"}, rows[0]]
    assert table_with_carried(fanned, SCHEMA, live.column(CARRIED), views).equals(table(["b1", "b2", "a"], [b"22", b"22", b"1"]))

    replaced = [{**rows[0], CARRIED: b"new"}, rows[1], {"key": "x"}]
    assert table_with_carried(replaced, SCHEMA, live.column(CARRIED), views).equals(table(["a", "b", "x"], [b"new", b"22", None]))


def test_a_batch_with_new_values_lets_go_of_its_input_buffer():
    # pyarrow keeps alive any buffer a Python buffer object it converts views; mixing the batch's
    # views with a panel's new pixels must not hand it the views (a whole block leaked per call)
    def mixed_batch():
        live = table([str(i) for i in range(8)], [bytes([i]) * 200_000 for i in range(8)])
        rows, views = rows_with_views(live)
        out = [{**row, CARRIED: b"panel"} if i % 2 else row for i, row in enumerate(rows)]
        return table_with_carried(out, SCHEMA, live.column(CARRIED), views)

    mixed_batch()  # the pool's first allocations
    before = pa.total_allocated_bytes()
    for _ in range(5):
        result = mixed_batch()
        assert result.column(CARRIED).to_pylist()[:2] == [b"\x00" * 200_000, b"panel"]
        del result
    assert pa.total_allocated_bytes() - before < 1_000_000  # five leaked batches would be 8 MB


def test_a_binary_array_of_views_and_new_values_holds_copies_in_a_buffer_of_its_own():
    from stages.runtime.carried import binary_array

    source = pa.array([b"abc", b"", b"defg"], pa.binary())
    views = binary_views(pa.chunked_array([source]))
    for kind in (pa.binary(), pa.large_binary()):
        values = [views[2], b"new", None, views[0], views[1]]
        array = binary_array(values, kind)
        assert array.type == kind and array.null_count == 1
        assert array.to_pylist() == [b"defg", b"new", None, b"abc", b""]
        assert array.buffers()[2].address != source.buffers()[2].address  # a copy: the views' buffer can go
    assert binary_array([], pa.binary()).to_pylist() == []
