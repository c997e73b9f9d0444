"""The ``figcurate`` command line."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from pipeline.config import ConfigError, load_config
from pipeline.errors import OperatorError
from pipeline.evaluation.evaluate import DEFAULT_SUBCAPTION_ROOT as REALDATA_SUBCAPTIONS
from pipeline.evaluation.evaluate import REALDATA_PMC
from pipeline.logs import FORMATS
from pipeline.logs import configure as configure_logging


def _validate(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    print(f"{args.config}: valid")
    if args.show:
        print(json.dumps(json.loads(config.model_dump_json()), indent=2))
    return 0


def _run(args: argparse.Namespace) -> int:
    from pipeline import runner
    from stages.io.s3_store import StoreTimeout, StoreUnavailable
    from stages.io.source_local import SourceError

    config = load_config(args.config).with_overrides(output=args.output, address=args.address)
    try:
        stats = runner.run(config, overwrite=args.overwrite, since=args.since)
    except OperatorError:
        raise  # told by main, as for every command
    except (SourceError, StoreTimeout, StoreUnavailable) as error:
        print(f"figcurate run: {error}", file=sys.stderr)
        return 2
    except Exception as error:
        logging.getLogger("figcurate").debug("run failed", exc_info=True)
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[-1][:500]
        print(
            f"figcurate run: the run stopped ({type(error).__name__}: {first_line}).\n"
            "Finished work units are kept; run the same command again to resume (--log-level DEBUG shows the traceback).",
            file=sys.stderr,
        )
        return 1
    logging.getLogger("figcurate").info(
        "run %r finished: %d samples in %d shards", stats["run"]["name"], stats["samples"], stats["units"],
        extra={"event": "run_finished", "samples": stats["samples"], "rejects": stats["rejects"], "drops_by_reason": stats["drops_by_reason"], "timing": stats["timing"]},
    )  # fmt: skip
    print()
    print(runner.summary(stats))
    return 0


def _plan(args: argparse.Namespace) -> int:
    from pipeline.estimate import estimate, render
    from stages.io.source_local import SourceError

    config = load_config(args.config)
    try:
        gpu_rates = dict(_stage_rate(item) for item in args.gpu_rate)
        result = estimate(config, sample_size=args.sample, articles_total=args.articles_total, cpus=args.cpus, gpus=args.gpus, gpu_rates=gpu_rates)
    except (ValueError, SourceError) as error:
        print(f"figcurate plan: {error}", file=sys.stderr)
        return 2
    print(json.dumps(result.as_dict(), indent=2) if args.json else render(result))
    return 0


def _stage_rate(item: str) -> tuple[str, float]:
    stage, _, rate = item.partition("=")
    try:
        return stage, float(rate)
    except ValueError:
        raise ValueError(f"--gpu-rate {item!r}: write STAGE=ITEMS_PER_S, e.g. clip_score=2500") from None


def _status(args: argparse.Namespace) -> int:
    from pipeline.progress import read_status, render_status
    from stages.io.output_location import OutputTarget

    status = read_status(OutputTarget(uri=str(args.output), endpoint_url=args.endpoint_url).open())
    print(json.dumps(status, indent=2) if args.json else render_status(status))
    return 0


def _verify(args: argparse.Namespace) -> int:
    from pipeline.manifest import verify_output

    if str(args.output).startswith("s3:"):
        print("figcurate verify: reads a local output; copy an s3:// output first (aws s3 sync s3://... DIR)", file=sys.stderr)
        return 2
    problems = verify_output(args.output)
    for problem in problems:
        print(f"{args.output}: {problem}")
    if problems:
        print(f"figcurate verify: {len(problems)} problem(s)", file=sys.stderr)
        return 1
    manifest = json.loads((args.output / "manifest.json").read_text())
    print(f"{args.output}: {len(manifest['shards'])} shards, {manifest['samples']} samples, all verified")
    return 0


def _subset(args: argparse.Namespace) -> int:
    from pipeline.subsets import make_subset

    info = make_subset(args.output, args.where, args.name)
    print(f"subset {info['name']!r}: {info['samples']} of {info['of_samples']} samples in {len(info['shards'])} shards")
    print(f"  keys and manifest in {args.output / 'subsets' / info['name']}")
    return 0


def _reshard(args: argparse.Namespace) -> int:
    from pipeline.subsets import reshard

    if (args.output / "view.json").is_file():  # a view (figcurate view create): its current samples
        from pipeline.views import ViewError, reshard_view

        if args.subset:
            print("figcurate reshard: --subset is for a run's output; a view is resharded whole", file=sys.stderr)
            return 2
        try:
            done = reshard_view(args.output, args.to, args.samples_per_shard)
        except ViewError as error:
            print(f"figcurate reshard: {error}", file=sys.stderr)
            return 2
        print(f"{done['samples']} samples in {done['shards']} new shards under {args.to / 'shards'} (check: figcurate verify {args.to})")
        return 0
    if not args.subset:
        print("figcurate reshard: --subset NAME is required for a run's output", file=sys.stderr)
        return 2
    result = reshard(args.output, args.subset, args.to, args.samples_per_shard)
    print(f"{result['samples']} samples in {len(result['shards'])} new shards under {args.to / 'shards'}")
    return 0


def _report(args: argparse.Namespace) -> int:
    from pipeline.report import build_report

    if args.gallery < 0:
        print("figcurate report: --gallery must be 0 or more", file=sys.stderr)
        return 2
    result = build_report(args.output, args.file, gallery_size=args.gallery, seed=args.seed)
    print(f"{result.path}: {result.bytes / 1e6:.2f} MB")
    print(
        f"  {result.samples} samples, {result.rejects} rejected records; gallery {result.gallery} samples, "
        f"{result.reject_examples} rejected examples; {result.charts} charts ({result.charts_skipped} not in this run)"
    )
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
    from pipeline.bench.parts import bench_fetch

    for row in bench_fetch(args.objects, args.size_kb, tuple(args.concurrency)):
        print(f"concurrency {row['concurrency']:>3}: {row['objects_per_s']:>8.1f} objects/s  {row['mb_per_s']:>7.2f} MB/s  "
              f"({row['objects']} x {row['object_kb']} KiB in {row['seconds']} s)")
    return 0


def _figures(args: argparse.Namespace) -> int:
    from pipeline.figures import figure_records, shown, xml_file

    failed = 0
    for path in args.paths:
        try:
            records = figure_records(path)
        except (FileNotFoundError, OSError) as error:
            print(json.dumps({"file": str(path), "error": str(error)}))
            failed += 1
            continue
        folder = xml_file(path).parent
        for record in records:
            if record.get("fig_id") is None:  # the whole article was dropped (malformed, no figures)
                print(json.dumps({"file": str(path), "error": f"{record['drop_reason']}: {record['drop_detail']}"}))
                failed += record["drop_reason"] != "no_figures"
            else:
                print(json.dumps({"file": str(path), **shown(record, folder)}, ensure_ascii=False))
    return 1 if failed else 0


def _bench_parse(args: argparse.Namespace) -> int:
    from pipeline.bench.parse import bench_parse

    report = bench_parse(Path(args.root), repeat=args.repeat)
    print(json.dumps(report, indent=2))
    return 0


def _bench_dedup(args: argparse.Namespace) -> int:
    from pipeline.bench.parts import bench_dedup, bench_image_hashes

    print(json.dumps({"image_hashes": bench_image_hashes(args.images), "dedup": bench_dedup(tuple(args.hashes))}, indent=2))
    return 0


def _bench_shards(args: argparse.Namespace) -> int:
    from pipeline.bench.parts import bench_shards

    print(json.dumps(bench_shards(samples=args.samples), indent=2))
    return 0


def _bench_cpu_path(args: argparse.Namespace) -> int:
    from pipeline.bench.suite import bench_cpu_path

    print(json.dumps(bench_cpu_path(args.articles, args.cpus, factor=args.factor, repeats=args.repeats), indent=2))
    return 0


def _bench_clip(args: argparse.Namespace) -> int:
    from pipeline.bench.clip import bench_clip

    print(json.dumps(bench_clip(args.images, args.model, args.batch_size, args.workers, args.device), indent=2))
    return 0


def _bench_scaling(args: argparse.Namespace) -> int:
    from pipeline.bench.suite import bench_scaling

    print(json.dumps(bench_scaling(args.articles, args.factor, args.cpus, window_units=args.window_units), indent=2))
    return 0


def _bench_panels(args: argparse.Namespace) -> int:
    from pipeline.bench.suite import bench_panels

    print(json.dumps(bench_panels(args.figures), indent=2))
    return 0


def _bench_suite(args: argparse.Namespace) -> int:
    from pipeline.bench.suite import render_suite, run_suite

    results = run_suite(articles=args.articles, cpus=args.cpus)
    if args.json_out:
        args.json_out.write_text(json.dumps(results, indent=2))
    print(render_suite(results))
    return 0


def _eval_panels(args: argparse.Namespace) -> int:
    from pipeline.evaluation.evaluate import evaluate_panels
    from stages.subfigures.split import SplitParams

    if args.gold is not None:
        from pipeline.evaluation.panel_gold import evaluate_gold

        if not args.gold.is_file():
            print(f"figcurate eval panels: {args.gold} does not exist (the real gold is shared/realdata/panels/gold.json)", file=sys.stderr)
            return 2
        print(json.dumps(evaluate_gold(args.gold, SplitParams(work_side=args.work_side)), indent=2))
        return 0
    if args.corpus is None:
        print("figcurate eval panels: give a demo corpus or --gold FILE", file=sys.stderr)
        return 2
    if not (args.corpus / "truth").is_dir():
        print(f"figcurate eval panels: {args.corpus} is not a demo corpus (no truth/ folder)", file=sys.stderr)
        return 2
    params = SplitParams(work_side=args.work_side)
    print(json.dumps(evaluate_panels(args.corpus, limit=args.limit, params=params), indent=2))
    if args.real.is_dir():
        from pipeline.evaluation.evaluate import panel_counts

        print(f"panel counts on the real figures under {args.real} (no box truth):")
        for row in panel_counts(args.real, params):
            print(json.dumps(row))
    return 0


def _eval_subcaptions(args: argparse.Namespace) -> int:
    from pipeline.evaluation.evaluate import LlmRoute, evaluate_subcaptions, score_gold

    llm = None
    if args.splitter == "llm":
        from stages.subcaptions.llm_split import LlmSplitSettings, LlmSplitter

        try:
            settings = LlmSplitSettings(enabled=True, backend=args.llm_backend, model=args.llm_model, url=args.llm_url,
                                        allow_untrained=args.llm_allow_untrained, route=args.llm_route, constrained=not args.llm_unconstrained)  # fmt: skip
        except ValueError as error:
            print(f"figcurate eval subcaptions: --splitter llm: {error}", file=sys.stderr)
            return 2
        llm = LlmRoute(LlmSplitter(settings), settings.route, args.min_subcaption_confidence)
    if args.gold:
        if not args.gold.exists():
            print(f"figcurate eval subcaptions: {args.gold} does not exist", file=sys.stderr)
            return 2
        try:
            print(json.dumps(score_gold(args.gold, gold_format=args.gold_format, llm=llm), indent=2))
        except ValueError as error:
            print(f"figcurate eval subcaptions: {error}", file=sys.stderr)
            return 2
        return 0
    results = evaluate_subcaptions(args.root, llm=llm)
    if results is None:
        print(f"figcurate eval subcaptions: no ground truth at {args.root}; skipped")
        return 0
    print(json.dumps(results, indent=2))
    return 0


def _panel_labels(text: str) -> list[str]:
    from stages.subcaptions.labels import parse_label_expression

    labels = parse_label_expression(text)
    if not labels:
        raise argparse.ArgumentTypeError(f"{text!r} is not a label list such as A-H or a,b,c")
    return labels


def _panels(args: argparse.Namespace) -> int:
    from PIL import Image, ImageDraw

    from stages.subfigures.split import SplitParams, split_image

    status = 0
    if args.draw:
        args.draw.mkdir(parents=True, exist_ok=True)
    for path in args.images:
        try:
            with Image.open(path) as image:
                image = image.convert("RGB")
        except (OSError, ValueError) as error:
            print(json.dumps({"image": str(path), "error": str(error)}))
            status = 1
            continue
        result = split_image(image, SplitParams(work_side=args.work_side), len(args.labels) if args.labels else None)
        print(json.dumps({"image": str(path), "width": image.width, "height": image.height,
                          "boxes": [list(b) for b in result.boxes], "confidence": result.confidence, "letters": result.letters}))
        if args.draw:
            draw = ImageDraw.Draw(image)
            line = max(2, max(image.size) // 300)
            for number, (x0, y0, x1, y1) in enumerate(result.boxes, start=1):
                draw.rectangle((x0, y0, x1 - 1, y1 - 1), outline=(255, 0, 0), width=line)
                draw.text((x0 + line + 2, y0 + line + 2), str(number), fill=(255, 0, 0))
            image.save(args.draw / f"{path.stem}.panels.png")
    return status


def _export_llava(args: argparse.Namespace) -> int:
    from pipeline.export_llava import export_llava

    info = export_llava(args.output, args.dest, kinds=tuple(args.kinds))
    print(f"{info['records']} LLaVA records of {info['images']} images: {info['json']} (images under {info['image_folder']})")
    return 0


def _bench_llm(args: argparse.Namespace) -> int:
    from pipeline.bench.llm import bench_llm

    if args.backend == "vllm":
        from pipeline.bench.vllm import bench_vllm

        report = bench_vllm(str(args.model), samples=args.samples, tasks=tuple(args.tasks), max_new_tokens=args.max_new_tokens,
                            max_model_len=args.max_model_len, vision=args.vision, compare=not args.no_compare)  # fmt: skip
        print(json.dumps(report, indent=2))
        return 0
    report = bench_llm(
        args.model, samples=args.samples, batch_sizes=tuple(args.batch_size), max_new_tokens=args.max_new_tokens, repeats=args.repeats
    )
    print(json.dumps(report, indent=2))
    return 0


def _view_create(args: argparse.Namespace) -> int:
    from pipeline.views import ViewError, create_view, runs_of
    from stages.io.output_location import open_location

    try:
        runs = runs_of(open_location(args.chain, args.endpoint_url), args.endpoint_url) if args.chain else [open_location(run, args.endpoint_url) for run in args.runs]
        view = create_view(args.dest, runs)
    except ViewError as error:
        print(f"figcurate view create: {error}", file=sys.stderr)
        return 2
    print(f"view of {len(view['runs'])} runs: {view['samples']} current samples in {len(view['shards'])} shards; excluded {view['excluded'] or 'none'}")
    return 0


def _view_cat(args: argparse.Namespace) -> int:
    from pipeline.views import write_current

    write_current(args.view, args.shard, sys.stdout.buffer)
    sys.stdout.buffer.flush()
    return 0


def _view_urls(args: argparse.Namespace) -> int:
    from pipeline.views import pipe_urls

    print(args.separator.join(pipe_urls(args.view)))
    return 0


def _add_view_commands(commands) -> None:
    view = commands.add_parser("view", help="one current dataset over a run and the incremental runs after it (no shard rewritten)")
    kinds = view.add_subparsers(dest="view_command", required=True)
    create = kinds.add_parser("create", help="write DEST/view.json, excluded.parquet and sizes.json")
    create.add_argument("dest", type=Path, help="folder for the view")
    runs = create.add_mutually_exclusive_group(required=True)
    runs.add_argument("--runs", nargs="+", help="run outputs (folders or s3://bucket/prefix), oldest first")
    runs.add_argument("--chain", help="the newest run output (a folder or s3://bucket/prefix); the runs it followed are read from its --since links")
    create.add_argument("--endpoint-url", help="S3-compatible endpoint of s3:// outputs")
    create.set_defaults(handler=_view_create)
    cat = kinds.add_parser("cat", help="write one shard of a view, its current samples only, as a tar to stdout")
    cat.add_argument("view", type=Path)
    cat.add_argument("shard", help="the shard's URL as view.json lists it")
    cat.set_defaults(handler=_view_cat)
    urls = kinds.add_parser("urls", help="pipe: URLs of the view's shards (current samples only), for open_clip's --train-data")
    urls.add_argument("view", type=Path)
    urls.add_argument("--separator", default="::", help="between URLs (default: '::', open_clip's)")
    urls.set_defaults(handler=_view_urls)


def _add_llm_commands(commands, bench_kinds) -> None:
    """``export llava`` and ``bench llm`` (the llm stage's commands, kept together)."""
    from pipeline.bench.llm import TINY_LLAMA
    from pipeline.export_llava import KINDS

    export = commands.add_parser("export", help="write a finished run in another training format")
    formats = export.add_subparsers(dest="format", required=True)
    llava = formats.add_parser("llava", help="LLaVA's JSON list and an image folder, from the llm stage's conversations")
    llava.add_argument("output", type=Path, help="a finished run's output folder")
    llava.add_argument("dest", type=Path, help="folder for llava.json and images/")
    llava.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS), help="which records to write (default: all)")
    llava.set_defaults(handler=_export_llava)

    bench = bench_kinds.add_parser("llm", help="samples/s and tokens/s of the llm stage (transformers on CPU by default; --backend vllm: the GPU check)")
    bench.add_argument("--backend", choices=["transformers", "vllm"], default="transformers",
                       help="vllm: the stage through ray.data.llm on a GPU, beside `vllm bench throughput` (needs the vllm extra)")  # fmt: skip
    bench.add_argument("--model", default=TINY_LLAMA, help="a local model folder (default: the tiny random Llama); vllm: a folder or cached hub id")
    bench.add_argument("--samples", type=int, default=32)
    bench.add_argument("--batch-size", type=int, nargs="+", default=[8], help="transformers only")
    bench.add_argument("--max-new-tokens", type=int, default=256)
    bench.add_argument("--repeats", type=int, default=3, help="transformers: timed passes per setting; the fastest is reported")
    bench.add_argument("--tasks", nargs="+", choices=["recaption", "instruct", "judge"], default=["recaption"], help="vllm only")
    bench.add_argument("--max-model-len", type=int, default=8192, help="vllm only")
    bench.add_argument("--vision", action="store_true", help="vllm only: a vision-language model; every record carries a 512 px image")
    bench.add_argument("--no-compare", action="store_true", help="vllm only: skip `vllm bench throughput`")
    bench.set_defaults(handler=_bench_llm)


# Real ground truth lives beside the repository (never copied into it).


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="figcurate", description="Curate PMC Open Access figures into vision-language training data.")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    parser.add_argument("--log-format", choices=FORMATS, help="text lines or one JSON object per line (default: $FIGCURATE_LOG_FORMAT or text)")
    commands = parser.add_subparsers(dest="command", required=True)

    validate = commands.add_parser("validate", help="check a config and exit")
    validate.add_argument("config", type=Path)
    validate.add_argument("--show", action="store_true", help="print the config with every default filled in")
    validate.set_defaults(handler=_validate)

    run = commands.add_parser("run", help="run the pipeline described by a config")
    run.add_argument("config", type=Path)
    run.add_argument("--output", type=Path, help="output folder (overrides output.path)")
    run.add_argument("--address", help="join a running Ray cluster (overrides ray.address), e.g. 'auto'")
    run.add_argument(
        "--overwrite", action="store_true", help="replace an earlier run in the output folder instead of resuming it"
    )
    run.add_argument("--since", metavar="PREVIOUS_OUTPUT",
                     help="process only article versions new or changed since that run (compared by ETag): its folder, or s3://bucket/prefix on the output's endpoint")  # fmt: skip
    run.set_defaults(handler=_run)

    plan = commands.add_parser("plan", help="estimate a run: articles, figures, panels, output size, core-hours and GPU-hours per stage, from a measured sample")
    plan.add_argument("config", type=Path)
    plan.add_argument("--sample", type=int, default=50, help="article versions run through the stages here to measure costs (spread over the source)")
    plan.add_argument("--articles-total", type=int, help="size of the whole set, when it is larger than what the config enumerates (e.g. max_articles)")
    plan.add_argument("--cpus", type=int, default=64, help="CPU cores of the cluster the wall time is estimated for")
    plan.add_argument("--gpus", type=int, default=1, help="GPUs of that cluster")
    plan.add_argument("--gpu-rate", action="append", default=[], metavar="STAGE=ITEMS_PER_S", help="throughput per GPU of a GPU stage this machine cannot run")
    plan.add_argument("--json", action="store_true")
    plan.set_defaults(handler=_plan)

    status = commands.add_parser("status", help="a run's progress from its output folder: units done, samples, rate, ETA, drops so far")
    status.add_argument("output", help="the run's output folder, or s3://bucket/prefix")
    status.add_argument("--endpoint-url", help="S3-compatible endpoint of an s3:// output")
    status.add_argument("--json", action="store_true", help="print the status as JSON")
    status.set_defaults(handler=_status)

    verify = commands.add_parser("verify", help="check every shard of an output against its manifest and index")
    verify.add_argument("output", type=Path)
    verify.set_defaults(handler=_verify)

    subset = commands.add_parser("subset", help="select samples by an SQL condition over the index, without rewriting shards")
    subset.add_argument("output", type=Path)
    subset.add_argument("--where", required=True, help="SQL condition over index columns, e.g. \"license = 'CC BY' AND split = 'train'\"")
    subset.add_argument("--name", required=True, help="subset name ([A-Za-z0-9_-]); written to OUTPUT/subsets/NAME/")
    subset.set_defaults(handler=_subset)

    reshard = commands.add_parser("reshard", help="write a subset's samples, or a view's current samples, into new physical shards")
    reshard.add_argument("output", type=Path, help="a run's output (with --subset), or a view folder (figcurate view create)")
    reshard.add_argument("--subset", help="the subset of OUTPUT to write (a run's output only)")
    reshard.add_argument("--to", required=True, type=Path, help="destination folder (gets shards/, sizes.json, manifest.json)")
    reshard.add_argument("--samples-per-shard", type=int, default=5000)
    reshard.set_defaults(handler=_reshard)

    report = commands.add_parser("report", help="write one self-contained HTML file: funnel, drop reasons, distributions, sample gallery")
    report.add_argument("output", type=Path, metavar="OUT", help="a run's output folder (finished or in progress)")
    report.add_argument("--output", dest="file", type=Path, metavar="FILE", help="where to write the HTML (default: OUT/report.html)")
    report.add_argument("--gallery", type=int, default=48, metavar="N", help="samples in the gallery (default 48)")
    report.add_argument("--seed", type=int, default=0, help="seed of the random draw of gallery samples and reject examples")
    report.set_defaults(handler=_report)

    demo = commands.add_parser("demo-corpus", help="generate a PMC-like corpus with known figures and broken inputs")
    demo.add_argument("out", type=Path)
    demo.add_argument("--articles", type=int, default=300)
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(handler=_demo_corpus)

    figures = commands.add_parser("figures", help="print the figure records of JATS files (or per-version folders) as JSON lines")
    figures.add_argument("paths", nargs="+", type=Path, help=".xml/.nxml files, or folders holding one with its media")
    figures.set_defaults(handler=_figures)
    bench = commands.add_parser("bench", help="measure parts of the pipeline")
    bench_kinds = bench.add_subparsers(dest="bench", required=True)
    fetch = bench_kinds.add_parser("fetch", help="S3 reads per second against a loopback S3 server (needs moto[server])")
    fetch.add_argument("--objects", type=int, default=200)
    fetch.add_argument("--size-kb", type=int, default=64)
    fetch.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    fetch.set_defaults(handler=_bench_fetch)
    shards = bench_kinds.add_parser("shards", help="shard write throughput and the cost of read-back verification")
    shards.add_argument("--samples", type=int, default=2000)
    shards.set_defaults(handler=_bench_shards)
    dedup = bench_kinds.add_parser("dedup", help="run-wide dedup on local Ray (hashes/s, peak memory) and image hashing per core")
    dedup.add_argument("--hashes", type=int, nargs="+", default=[100_000], help="candidate counts to run (e.g. 100000 1000000)")
    dedup.add_argument("--images", type=int, default=200, help="generated figures hashed for the per-core figure")
    dedup.set_defaults(handler=_bench_dedup)
    parse = bench_kinds.add_parser("parse", help="JATS figure parsing: documents/s and MB/s per core beside pubmed_parser, and where they disagree")
    parse.add_argument("root", nargs="?", default=str(REALDATA_PMC), help="a folder searched for .xml/.nxml files (default: the real PMC files)")
    parse.add_argument("--repeat", type=int, default=20, help="passes over the files in the timed loop")
    parse.set_defaults(handler=_bench_parse)
    cpu_path = bench_kinds.add_parser(
        "cpu-path", help="the CPU stages beside a bare decode-resize-encode loop over the same images: steady-state ratio, fixed cost, per-stage ms"
    )
    cpu_path.add_argument("--articles", type=int, default=150, help="articles of the smaller generated corpus")
    cpu_path.add_argument("--factor", type=int, default=4, help="the larger corpus is this many times the smaller")
    cpu_path.add_argument("--cpus", type=int, default=2)
    cpu_path.add_argument(
        "--repeats", type=int, default=3, help="rounds, each both runs and both bare loops back to back; the median round counts"
    )
    cpu_path.set_defaults(handler=_bench_cpu_path)
    clip = bench_kinds.add_parser("clip", help="CLIP scoring images/s end to end from JPEG bytes (preprocess pool + model), the GPU check")
    clip.add_argument("--images", type=int, default=2048)
    clip.add_argument("--model", default="ViT-B-16", help="an open_clip architecture (built-in name or local-dir:PATH), run with random weights")
    clip.add_argument("--batch-size", type=int, default=256)
    clip.add_argument("--workers", type=int, default=2, help="preprocessing processes")
    clip.add_argument("--device", choices=["cpu", "cuda"], help="default: cuda when torch sees one")
    clip.set_defaults(handler=_bench_clip)
    scaling = bench_kinds.add_parser("scaling", help="the same kind of corpus at 1x and FACTORx: time and peak memory of whole runs")
    scaling.add_argument("--articles", type=int, default=100, help="articles of the 1x corpus")
    scaling.add_argument("--factor", type=int, default=4)
    scaling.add_argument("--cpus", type=int, default=2)
    scaling.add_argument("--window-units", type=int, help="work units per window (default: the config's)")
    scaling.set_defaults(handler=_bench_scaling)
    bench_panels = bench_kinds.add_parser("panels", help="panel splitting's figures/s on one core and its accuracy on generated figures")
    bench_panels.add_argument("--figures", type=int, default=300)
    bench_panels.set_defaults(handler=_bench_panels)
    suite = bench_kinds.add_parser("suite", help="every bench at a modest size, printed as one table")
    suite.add_argument("--articles", type=int, default=200, help="articles of the CPU-path corpus (scaling uses a quarter of it, then 4x)")
    suite.add_argument("--cpus", type=int, default=2)
    suite.add_argument("--json-out", type=Path, help="also write every figure as JSON here")
    suite.set_defaults(handler=_bench_suite)
    panels = commands.add_parser("panels", help="print the panel boxes found in images as JSON lines")
    panels.add_argument("images", type=Path, nargs="+")
    panels.add_argument("--draw", type=Path, metavar="OUTDIR", help="save a copy of each image with its boxes drawn")
    panels.add_argument("--work-side", type=int, default=1024)
    panels.add_argument(
        "--labels", type=_panel_labels, metavar="A-H",
        help="the labels the caption names (A-H, a,b,c): the layout with that many panels is chosen, as the pipeline does",
    )
    panels.set_defaults(handler=_panels)

    evaluate = commands.add_parser("eval", help="measure panel or subcaption splitting against ground truth")
    targets = evaluate.add_subparsers(dest="target", required=True)
    eval_panels = targets.add_parser(
        "panels", help="ImageCLEF accuracy on real gold boxes (--gold), or box precision/recall/F1 at IoU 0.5 on a demo corpus"
    )
    eval_panels.add_argument("corpus", type=Path, nargs="?", help="a demo corpus (generated figures with known panels)")
    eval_panels.add_argument("--gold", type=Path, help="real gold boxes, e.g. ../shared/realdata/panels/gold.json (images/ beside it)")
    eval_panels.add_argument("--limit", type=int, help="only the first N figures")
    eval_panels.add_argument("--work-side", type=int, default=1024)
    eval_panels.add_argument("--real", type=Path, default=REALDATA_PMC, help="also count panels in the real *.jpg figures here (default: shared/realdata/pmc)")
    eval_panels.set_defaults(handler=_eval_panels)
    eval_sub = targets.add_parser("subcaptions", help="subcaption similarity against real annotations")
    eval_sub.add_argument("--root", type=Path, default=REALDATA_SUBCAPTIONS, help="default: shared/realdata/subcaptions beside the repository")
    eval_sub.add_argument("--gold", type=Path, help="score one annotation file instead (zou/prostate format, or SODA; detected)")
    eval_sub.add_argument(
        "--gold-format", choices=["zou", "prostate", "soda"],
        help="the gold file's convention (default: detected): zou keeps each label marker in its subcaption, prostate and soda remove it",
    )
    eval_sub.add_argument("--splitter", choices=["rules", "llm"], default="rules", help="llm: the LLM splitter where routed, the rules elsewhere (as the pipeline)")
    eval_sub.add_argument("--llm-backend", choices=["transformers", "openai"], default="transformers")
    eval_sub.add_argument("--llm-model", help="a local model folder (transformers) or the served model's name (openai)")
    eval_sub.add_argument("--llm-url", default="http://localhost:8000/v1/chat/completions", help="openai: the chat completions endpoint (vllm serve)")
    eval_sub.add_argument("--llm-route", choices=["unsure", "all"], default="unsure", help="which labelled captions the LLM splits")
    eval_sub.add_argument("--min-subcaption-confidence", type=float, default=0.5, help="route unsure: captions below this rule confidence")
    eval_sub.add_argument("--llm-allow-untrained", action="store_true", help="transformers: random weights for a folder without any (plumbing)")
    eval_sub.add_argument("--llm-unconstrained", action="store_true", help="decode without the answer's schema (a tokenizer the grammar cannot read)")
    eval_sub.set_defaults(handler=_eval_subcaptions)
    _add_llm_commands(commands, bench_kinds)
    _add_view_commands(commands)
    _name_commands(parser)
    return parser


def _name_commands(parser: argparse.ArgumentParser) -> None:
    """Give every command's namespace its full name (``figcurate export llava``), for ``main``'s messages."""
    for action in parser._actions:  # argparse keeps subcommands only here
        if isinstance(action, argparse._SubParsersAction):
            for command in action.choices.values():
                command.set_defaults(command_name=command.prog)
                _name_commands(command)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        configure_logging(args.log_level, args.log_format)
    except ValueError as error:
        print(f"figcurate: {error}", file=sys.stderr)
        return 2
    try:
        return args.handler(args)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    except OperatorError as error:
        print(f"{args.command_name}: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
