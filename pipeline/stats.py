"""Run statistics: per-unit funnels merged into ``stats.json``, and the end-of-run summary."""

from __future__ import annotations

from collections import defaultdict

from stages.io.shard_writer import drops_by_reason


def merge_units(unit_records: list[dict]) -> dict:
    """Sum the per-unit funnels (units partition the articles, so counts add up)."""
    stages: dict[str, dict] = {}
    for record in sorted(unit_records, key=lambda r: r["unit"]):
        for name, counts in record["funnel"].items():
            merged = stages.setdefault(name, {"unit": counts["unit"], "in": 0, "out": 0, "dropped": defaultdict(int)})
            merged["in"] += counts["in"]
            merged["out"] += counts["out"]
            for reason, n in counts["dropped"].items():
                merged["dropped"][reason] += n
    for merged in stages.values():
        merged["dropped"] = dict(sorted(merged["dropped"].items()))
    eval_overlap: dict[str, int] = defaultdict(int)
    for record in unit_records:
        for name, n in record.get("eval_overlap", {}).items():
            eval_overlap[name] += n
    return {
        "units": len(unit_records),
        "samples": sum(r["samples"] for r in unit_records),
        "rejects": sum(r["rejects"] for r in unit_records),
        "shard_bytes": sum(r["bytes"] for r in unit_records),
        "stages": stages,
        "drops_by_reason": drops_by_reason(stages),
        "eval_overlap": dict(sorted(eval_overlap.items())),
    }


def shard_pattern(output: str, n_shards: int) -> str:
    if n_shards == 1:
        return f"{output}/shards/000000.tar"
    return f"{output}/shards/{{000000..{n_shards - 1:06d}}}.tar"


def render_summary(stats: dict, output: str) -> str:
    seconds = stats["timing"]["pipeline_seconds"]
    lines = [
        f"figcurate run {stats['run']['name']!r} finished in {stats['timing']['total_seconds']:.1f} s",
        f"  source: {stats['source']['article_versions']} article versions from {stats['source']['root']}"
        f" in {stats['units']} work units ({stats['resume']['units_skipped']} already done, skipped)",
        "",
        f"  {'stage':<17}{'unit':<9}{'in':>8}{'out':>8}  dropped",
    ]
    for name, counts in stats["stages"].items():
        dropped = ", ".join(f"{reason} {n}" for reason, n in counts["dropped"].items()) or "-"
        lines.append(f"  {name:<17}{counts['unit']:<9}{counts['in']:>8}{counts['out']:>8}  {dropped}")
    if stats.get("eval_overlap"):
        lines += ["", "  evaluation-set overlap removed: " + ", ".join(f"{name} {n}" for name, n in stats["eval_overlap"].items())]
    rate = stats["resume"]["samples_run"] / seconds if seconds else 0.0
    lines += [
        "",
        f"  samples: {stats['samples']} in {stats['units']} shards ({stats['shard_bytes'] / 1e6:.1f} MB),"
        f" {rate:.1f} samples/s written this run; rejects: {stats['rejects']}",
        "",
        "  outputs:",
        f"    shards   {shard_pattern(output, stats['units'])}",
        f"    index    {output}/index/  (Parquet, one row per sample)",
        f"    rejects  {output}/rejects/  (Parquet: key, stage, reason, detail)",
        f"    stats    {output}/stats.json",
        f"    sizes    {output}/shards/sizes.json",
    ]
    return "\n".join(lines)
