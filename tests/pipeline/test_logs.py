import json
import logging

import pytest

from pipeline.logs import JsonFormatter, configure


@pytest.fixture
def restore_logging():
    root = logging.getLogger()
    saved = {name: (logging.getLogger(name).handlers[:], logging.getLogger(name).propagate) for name in ("ray", "ray.data")}
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:], root.level = handlers, level
    for name, (kept, propagate) in saved.items():
        logging.getLogger(name).handlers[:] = kept
        logging.getLogger(name).propagate = propagate


def test_json_lines_carry_the_message_and_the_extra_fields():
    record = logging.LogRecord("figcurate.progress", logging.INFO, __file__, 1, "unit %d finished", (3,), None)
    record.units_done, record.eta_s, record._ray_timestamp_ns = 4, 12.5, 1
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "unit 3 finished" and entry["level"] == "INFO" and entry["logger"] == "figcurate.progress"
    assert (entry["units_done"], entry["eta_s"]) == (4, 12.5)
    assert "_ray_timestamp_ns" not in entry and "args" not in entry and entry["ts"].endswith("Z")


def test_json_mode_turns_ray_datas_own_lines_into_json_too(restore_logging, capfd):
    configure("INFO", "json")
    logging.getLogger("ray.data").info("Running Dataset: %s", "d1")
    logging.getLogger("figcurate").warning("a warning", extra={"unit": 2})
    lines = [line for line in capfd.readouterr().err.splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]  # every line parses: no text line slipped through
    assert [e["message"] for e in entries] == ["Running Dataset: d1", "a warning"]
    assert entries[1]["unit"] == 2


def test_the_format_comes_from_the_environment_and_a_wrong_one_is_refused(restore_logging, monkeypatch, capfd):
    monkeypatch.setenv("FIGCURATE_LOG_FORMAT", "json")
    configure("INFO")
    logging.getLogger("figcurate").info("hello")
    assert json.loads(capfd.readouterr().err.strip())["message"] == "hello"
    monkeypatch.setenv("FIGCURATE_LOG_FORMAT", "xml")
    with pytest.raises(ValueError, match="choose one of text, json"):
        configure("INFO")
