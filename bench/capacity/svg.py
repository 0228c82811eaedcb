"""Small line charts as hand-written SVG (no matplotlib on these machines): one chart per
quantity over the run's time, a shaded band for a stall or a starvation, a legend. Readable in
a browser and on GitHub, a few kilobytes each."""
import math
from xml.sax.saxutils import escape

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f"]


def _nice_step(span, target_ticks=5):
    if span <= 0:
        return 1.0
    raw = span / target_ticks
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag


def _fmt(v):
    if v == 0:
        return "0"
    a = abs(v)
    if a >= 1e9:
        return f"{v / 1e9:g}G"
    if a >= 1e6:
        return f"{v / 1e6:g}M"
    if a >= 1e4:
        return f"{v / 1e3:g}k"
    if a >= 1:
        return f"{v:g}"
    return f"{v:.3g}"


def line_chart(title, series, y_label="", x_label="seconds since tidewatch started", bands=(),
               width=720, height=260, y_min=None, y_max=None, x_min=None, x_max=None):
    """series: [(name, [(x, y), ...], {"dash": bool})]; points with y None are gaps.
    bands: [(x0, x1, label)] drawn as shaded spans. Returns the SVG document as a string."""
    left, right, top, bottom = 64, 16, 28, 62
    # Legend entries wrap into rows; the picture grows by a row's height for each extra row.
    legend, lx, row = [], left, 0
    for s in series:
        w = 28 + 6.5 * len(s[0])
        if lx + w > width - right and lx > left:
            lx, row = left, row + 1
        legend.append((lx, row))
        lx += w
    height += 14 * row
    bottom += 14 * row
    pw, ph = width - left - right, height - top - bottom
    xs = [x for _, pts, *_ in series for x, y in pts if y is not None]
    ys = [y for _, pts, *_ in series for x, y in pts if y is not None]
    for b in bands:
        xs += [b[0], b[1]]
    x0, x1 = (min(xs), max(xs)) if xs else (0.0, 1.0)
    x0 = x0 if x_min is None else x_min
    x1 = x1 if x_max is None else x_max
    if x1 <= x0:
        x1 = x0 + 1
    lo = y_min if y_min is not None else min([0.0] + ys)
    hi = y_max if y_max is not None else (max(ys) if ys else 1.0)
    if hi <= lo:
        hi = lo + 1
    step = _nice_step(hi - lo)
    hi = math.ceil(hi / step) * step
    lo = math.floor(lo / step) * step
    sx = lambda x: left + (x - x0) / (x1 - x0) * pw
    sy = lambda y: top + ph - (y - lo) / (hi - lo) * ph
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{left}" y="16" font-size="13" font-weight="bold">{escape(title)}</text>']
    for bx0, bx1, label in bands:
        out.append(f'<rect x="{sx(bx0):.1f}" y="{top}" width="{max(1.0, sx(bx1) - sx(bx0)):.1f}" height="{ph}" '
                   f'fill="#f2c94c" fill-opacity="0.25"/>')
        out.append(f'<text x="{sx(bx0) + 3:.1f}" y="{top + 12}" fill="#8a6d00">{escape(label)}</text>')
    y = lo
    while y <= hi + step / 2:
        py = sy(y)
        out.append(f'<line x1="{left}" x2="{left + pw}" y1="{py:.1f}" y2="{py:.1f}" stroke="#e5e5e5"/>')
        out.append(f'<text x="{left - 6}" y="{py + 4:.1f}" text-anchor="end">{_fmt(y)}</text>')
        y += step
    xstep = _nice_step(x1 - x0, 8)
    x = math.ceil(x0 / xstep) * xstep
    while x <= x1 + 1e-9:
        px = sx(x)
        out.append(f'<line x1="{px:.1f}" x2="{px:.1f}" y1="{top + ph}" y2="{top + ph + 4}" stroke="#444"/>')
        out.append(f'<text x="{px:.1f}" y="{top + ph + 16}" text-anchor="middle">{_fmt(x)}</text>')
        x += xstep
    out.append(f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#444"/>')
    out.append(f'<text x="{left + pw / 2:.1f}" y="{top + ph + 30}" text-anchor="middle" fill="#444">{escape(x_label)}</text>')
    if y_label:
        out.append(f'<text transform="translate(14,{top + ph / 2:.1f}) rotate(-90)" text-anchor="middle" '
                   f'fill="#444">{escape(y_label)}</text>')
    for k, s in enumerate(series):
        name, pts = s[0], s[1]
        opts = s[2] if len(s) > 2 else {}
        color = opts.get("color", PALETTE[k % len(PALETTE)])
        dash = ' stroke-dasharray="5,3"' if opts.get("dash") else ""
        segments, cur = [], []
        for px, py in pts:
            if py is None:
                if cur:
                    segments.append(cur)
                cur = []
            else:
                cur.append(f"{sx(px):.1f},{sy(py):.1f}")
        if cur:
            segments.append(cur)
        for seg in segments:
            if len(seg) == 1:
                cx, cy = seg[0].split(",")
                out.append(f'<circle cx="{cx}" cy="{cy}" r="2" fill="{color}"/>')
            else:
                out.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.6"{dash} points="{" ".join(seg)}"/>')
        lx, row = legend[k]
        ly = top + ph + 46 + 14 * row
        out.append(f'<line x1="{lx:.0f}" x2="{lx + 16:.0f}" y1="{ly - 4}" y2="{ly - 4}" stroke="{color}" stroke-width="2"{dash}/>')
        out.append(f'<text x="{lx + 20:.0f}" y="{ly}">{escape(name)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
