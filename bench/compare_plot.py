"""SVG charts for bench/compare: one figure per workload, servers as labelled horizontal bars of
server CPU µs per request, the floor's figure drawn across as a dashed line. Plain SVG written
here (no gnuplot or matplotlib to install), so every run of compare produces them."""

from pathlib import Path
from xml.sax.saxutils import escape

BAR_H, GAP, LEFT, RIGHT, TOP, BOTTOM, WIDTH = 26, 10, 190, 90, 56, 40, 760
COLORS = {"reactord-epoll": "#3b6ea8", "reactord-io_uring": "#5a9e4b", "floor": "#888888"}


def slug(workload: str) -> str:
    return workload.replace("/", "-")


def chart(workload: str, rows: list[dict], date: str) -> str:
    """rows: ok cases of one workload (name, server, server_cpu_us_per_req)."""
    floor = next((r["server_cpu_us_per_req"] for r in rows if r["server"] == "floor"), None)
    top = max(r["server_cpu_us_per_req"] for r in rows) * 1.15
    plot_w = WIDTH - LEFT - RIGHT
    height = TOP + len(rows) * (BAR_H + GAP) + BOTTOM

    def x(v: float) -> float:
        return LEFT + plot_w * v / top

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'font-family="sans-serif" font-size="13">',
        f'<rect width="{WIDTH}" height="{height}" fill="white"/>',
        f'<text x="{WIDTH / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">'
        f"{escape(workload)}: server CPU per request (lower is better)</text>",
        f'<text x="{WIDTH / 2}" y="40" text-anchor="middle" fill="#555">bench/compare, {escape(date)}; '
        f"µs of server CPU (user+system) per request</text>",
    ]
    for i, r in enumerate(rows):
        y = TOP + i * (BAR_H + GAP)
        v = r["server_cpu_us_per_req"]
        color = COLORS.get(r["server"], "#b07a3b")
        ratio = f"  ({v / floor:.2f}× floor)" if floor and r["server"] != "floor" else ""
        out += [
            f'<text x="{LEFT - 8}" y="{y + BAR_H * 0.68}" text-anchor="end">{escape(r["server"])}</text>',
            f'<rect x="{LEFT}" y="{y}" width="{x(v) - LEFT:.1f}" height="{BAR_H}" fill="{color}"/>',
            f'<text x="{x(v) + 6:.1f}" y="{y + BAR_H * 0.68}">{v:.2f}{ratio}</text>',
        ]
    axis_y = TOP + len(rows) * (BAR_H + GAP)
    out.append(f'<line x1="{LEFT}" y1="{TOP - 4}" x2="{LEFT}" y2="{axis_y}" stroke="black"/>')
    out.append(f'<text x="{LEFT}" y="{axis_y + 16}" text-anchor="middle">0</text>')
    out.append(f'<text x="{x(top / 1.15):.1f}" y="{axis_y + 16}" text-anchor="middle">{top / 1.15:.2f} µs</text>')
    if floor:
        fx = x(floor)
        out += [
            f'<line x1="{fx:.1f}" y1="{TOP - 6}" x2="{fx:.1f}" y2="{axis_y}" stroke="#c0392b" '
            f'stroke-width="2" stroke-dasharray="6,4"/>',
            f'<text x="{fx:.1f}" y="{axis_y + 32}" text-anchor="middle" fill="#c0392b">floor</text>',
        ]
    out.append("</svg>")
    return "\n".join(out) + "\n"


def write_charts(doc: dict, out_dir: Path) -> list[Path]:
    """One SVG per workload with at least one measured case: out_dir/cpu-<workload>.svg."""
    by_workload: dict[str, list[dict]] = {}
    for r in doc["cases"]:
        if r.get("status") == "ok" and r.get("server_cpu_us_per_req"):
            by_workload.setdefault(r["workload"], []).append(r)
    written = []
    for workload, rows in by_workload.items():
        path = out_dir / f"cpu-{slug(workload)}.svg"
        path.write_text(chart(workload, rows, doc["date"]))
        written.append(path)
    return written
