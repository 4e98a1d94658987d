"""`make bench`: run every benchmark in bench/, write results/latest.json, a markdown summary and plots.

Each `bench/bench_<name>.py` exposes `main() -> dict` returning
`{"benchmark": str, "results": [{"scenario", "metric", "unit", "value", "baseline_name", "baseline",
"ratio", "goal", "goal_met", "latency_ms": {...}?}], "series": {name: [[x, y], ...]}?}`.
Every figure is paired with a baseline measured in the same run (machines here are noisy), and
the ratio is the headline. Benchmarks run in subprocesses so one cannot disturb another.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import os
import platform
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from bench.common import recreate_database

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def discover() -> list[str]:
    only = os.environ.get("BENCH_ONLY")
    names = sorted(p.stem for p in (ROOT / "bench").glob("bench_*.py"))
    return [n for n in names if not only or any(o in n for o in only.split(","))]


PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
RUN_DB = "forodha_bench_run"


def run_one(name: str) -> dict[str, Any]:
    """Run bench.<name>.main() in a fresh interpreter and parse the JSON it prints last."""
    code = (
        "import json, sys, importlib; sys.path.insert(0, '.');"
        f"m = importlib.import_module('bench.{name}'); r = m.main();"
        "print('BENCH-RESULT ' + json.dumps(r, default=str))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": recreate_database(PG, RUN_DB),
           "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")}
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=int(os.environ.get("BENCH_TIMEOUT", "900")))
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("BENCH-RESULT "):
            result: dict[str, Any] = json.loads(line[len("BENCH-RESULT "):])
            result.setdefault("benchmark", name.removeprefix("bench_"))
            return result
    return {"benchmark": name.removeprefix("bench_"), "error": (proc.stderr or proc.stdout)[-4000:],
            "results": []}


def summary_markdown(report: dict[str, Any]) -> str:
    lines = [
        f"# Forodha benchmark report ({report['started_at']})",
        "",
        f"Machine: {report['machine']['cpus']} CPUs, Python {report['machine']['python']}. "
        "Each figure is paired with a baseline measured in the same run; the ratio is the headline.",
        "",
        "| benchmark | scenario | value | baseline | ratio | goal | met |",
        "|---|---|---|---|---|---|---|",
    ]
    for bench in report["benchmarks"]:
        if bench.get("error"):
            lines.append(f"| {bench['benchmark']} | ERROR | | | | | no |")
            continue
        for r in bench.get("results", []):
            value = f"{r.get('value', 0):,.1f} {r.get('unit', '')}".strip()
            baseline = f"{r.get('baseline', 0):,.1f} ({r.get('baseline_name', '')})"
            ratio = r.get("ratio")
            ratio_text = f"{ratio:.1%}" if isinstance(ratio, (int, float)) else "-"
            met = {True: "yes", False: "NO"}.get(r.get("goal_met"), "-")
            lines.append(f"| {bench['benchmark']} | {r.get('scenario', '')} | {value} | {baseline} | "
                         f"{ratio_text} | {r.get('goal', '')} | {met} |")
            if r.get("latency_ms"):
                lat = ", ".join(f"{k} {v:.1f} ms" for k, v in r["latency_ms"].items())
                lines.append(f"| | latency | {lat} | | | | |")
    for bench in report["benchmarks"]:
        if bench.get("error"):
            lines += ["", f"## {bench['benchmark']}: error", "", "```", bench["error"][-1500:], "```"]
    return "\n".join(lines) + "\n"


def plots(report: dict[str, Any]) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written: list[str] = []
    rows = [(b["benchmark"], r) for b in report["benchmarks"] for r in b.get("results", [])
            if isinstance(r.get("ratio"), (int, float))]
    if rows:
        fig, ax = plt.subplots(figsize=(10, 0.5 * len(rows) + 1.5))
        labels = [f"{b}: {r.get('scenario', '')}" for b, r in rows]
        ratios = [r["ratio"] for _, r in rows]
        colours = ["tab:green" if r.get("goal_met") else "tab:red" for _, r in rows]
        ax.barh(labels, ratios, color=colours)
        ax.set_xlabel("value / baseline (same run)")
        ax.set_title("Throughput ratio against same-run baselines")
        fig.tight_layout()
        path = RESULTS / "throughput_ratios.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path.name)
    latency_rows = [(b["benchmark"], r) for b in report["benchmarks"] for r in b.get("results", [])
                    if r.get("latency_ms")]
    if latency_rows:
        # one panel per benchmark: a group of horizontal bars (percentiles, baseline's too) per scenario
        benches = list(dict.fromkeys(b for b, _ in latency_rows))
        heights = [sum(1 for b, _ in latency_rows if b == name) for name in benches]
        fig, axes = plt.subplots(len(benches), 1, figsize=(11, 1.2 * sum(heights) + 1.2 * len(benches)),
                                 gridspec_kw={"height_ratios": heights}, squeeze=False)
        panels: list[Any] = [row[0] for row in axes]
        for ax, name in zip(panels, benches, strict=True):
            scenario_rows = [r for b, r in latency_rows if b == name]
            keys = list(dict.fromkeys(k for r in scenario_rows for k in r["latency_ms"]))
            width = 0.8 / len(keys)
            for k_i, key in enumerate(keys):
                ax.barh([i + k_i * width for i in range(len(scenario_rows))],
                        [r["latency_ms"].get(key, 0) for r in scenario_rows], height=width, label=key)
            ax.set_yticks([i + 0.4 - width / 2 for i in range(len(scenario_rows))],
                          [textwrap.shorten(r.get("scenario", ""), 70) for r in scenario_rows], fontsize="small")
            ax.set_xscale("log")
            ax.set_xlabel("ms (log scale)")
            ax.set_title(f"{name}: latency percentiles per scenario")
            ax.legend(fontsize="x-small", loc="lower right")
        fig.tight_layout()
        path = RESULTS / "latency_percentiles.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path.name)
    for bench in report["benchmarks"]:
        series = {k: v for k, v in (bench.get("series") or {}).items() if v}
        if not series:
            continue
        # all series of one benchmark on one figure (the replay: buffered / lodged / scored over time)
        fig, ax = plt.subplots(figsize=(8, 4))
        for series_name, points in series.items():
            ax.plot([p[0] for p in points], [p[1] for p in points], label=series_name)
        ax.set_xlabel("seconds")
        ax.set_ylabel("items")
        ax.set_title(f"{bench['benchmark']}: " + ", ".join(series))
        ax.legend(fontsize="small")
        fig.tight_layout()
        path = RESULTS / f"{bench['benchmark']}_curves.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path.name)
    return written


def main() -> int:
    RESULTS.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "benchmarks": [],
    }
    for name in discover():
        print(f"== {name}", flush=True)
        result = run_one(name)
        report["benchmarks"].append(result)
        print(json.dumps(result, indent=1, default=str)[:3000], flush=True)
    report["plots"] = plots(report)
    (RESULTS / "latest.json").write_text(json.dumps(report, indent=2, default=str))
    (RESULTS / "latest.md").write_text(summary_markdown(report))
    print((RESULTS / "latest.md").read_text())
    return 1 if any(b.get("error") for b in report["benchmarks"]) else 0


if __name__ == "__main__":
    importlib.invalidate_caches()
    raise SystemExit(main())
