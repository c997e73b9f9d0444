"""The ``figcurate`` command line."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from pipeline.config import ConfigError, load_config


def _validate(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    print(f"{args.config}: valid")
    if args.show:
        print(json.dumps(json.loads(config.model_dump_json()), indent=2))
    return 0


def _run(args: argparse.Namespace) -> int:
    from pipeline import runner
    from pipeline.incremental import IncrementalError
    from pipeline.runner import OutputExistsError
    from stages.s3_store import StoreTimeout, StoreUnavailable
    from stages.source_local import SourceError

    config = load_config(args.config).with_overrides(output=args.output, address=args.address)
    try:
        stats = runner.run(config, overwrite=args.overwrite, since=args.since)
    except (OutputExistsError, SourceError, IncrementalError, StoreTimeout, StoreUnavailable) as error:
        print(f"figcurate run: {error}", file=sys.stderr)
        return 2
    print()
    print(runner.summary(stats))
    return 0


def _demo_corpus(args: argparse.Namespace) -> int:
    from pipeline.demo_corpus import generate_corpus

    try:
        info = generate_corpus(args.out, articles=args.articles, seed=args.seed)
    except ValueError as error:
        print(f"figcurate demo-corpus: {error}", file=sys.stderr)
        return 2
    print(f"demo corpus in {args.out}: {info['articles']} articles, {info['article_versions']} article versions, {info['figures']} figures (seed {info['seed']})")
    return 0


def _bench_fetch(args: argparse.Namespace) -> int:
    from pipeline.bench import bench_fetch

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    for row in bench_fetch(args.objects, args.size_kb, tuple(args.concurrency)):
        print(f"concurrency {row['concurrency']:>3}: {row['objects_per_s']:>8.1f} objects/s  {row['mb_per_s']:>7.2f} MB/s  "
              f"({row['objects']} x {row['object_kb']} KiB in {row['seconds']} s)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="figcurate", description="Curate PMC Open Access figures into vision-language training data.")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    commands = parser.add_subparsers(dest="command", required=True)

    validate = commands.add_parser("validate", help="check a config and exit")
    validate.add_argument("config", type=Path)
    validate.add_argument("--show", action="store_true", help="print the config with every default filled in")
    validate.set_defaults(handler=_validate)

    run = commands.add_parser("run", help="run the pipeline described by a config")
    run.add_argument("config", type=Path)
    run.add_argument("--output", type=Path, help="output folder (overrides output.path)")
    run.add_argument("--address", help="join a running Ray cluster (overrides ray.address), e.g. 'auto'")
    run.add_argument("--overwrite", action="store_true", help="replace the results of an earlier run in the output folder")
    run.add_argument("--since", type=Path, metavar="PREVIOUS_OUTPUT", help="process only article versions new or changed since that run (compared by ETag)")
    run.set_defaults(handler=_run)

    demo = commands.add_parser("demo-corpus", help="generate a PMC-like corpus with known figures and broken inputs")
    demo.add_argument("out", type=Path)
    demo.add_argument("--articles", type=int, default=300)
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(handler=_demo_corpus)

    bench = commands.add_parser("bench", help="measure parts of the pipeline")
    bench_kinds = bench.add_subparsers(dest="bench", required=True)
    fetch = bench_kinds.add_parser("fetch", help="S3 reads per second against a loopback S3 server (needs moto[server])")
    fetch.add_argument("--objects", type=int, default=200)
    fetch.add_argument("--size-kb", type=int, default=64)
    fetch.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    fetch.set_defaults(handler=_bench_fetch)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Never let request-level logs (which can carry credentials) through.
    for name in ("botocore", "boto3", "urllib3"):
        logging.getLogger(name).setLevel(max(logging.INFO, logging.getLogger(name).level))
    try:
        return args.handler(args)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
