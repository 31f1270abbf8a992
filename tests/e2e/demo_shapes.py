"""The demo world, re-implemented independently of januskit for its quality tests: the palette, the
held-out rule (which (shape, colour, background) triples and which arithmetic problems training never
saw, see src/training/*_data.cpp), a renderer (OpenCV, anti-aliased, like the training data but not
the same code), and an OpenCV judge that reads colour and shape back from a picture.

The judge: the background is the median colour of the border; the shape is the largest connected
region that differs from it; its colour is the nearest palette colour to the median of the region's
interior; its shape comes from the contour (solidity for the star, vertex count and circularity for the
triangle, how much of its minimal bounding rectangle it fills for the square; otherwise a circle).
"""
import math

import cv2
import numpy as np

SHAPES = ["circle", "square", "triangle", "star"]
COLOURS = {
    "red": (220, 30, 30), "green": (40, 170, 60), "blue": (40, 80, 225), "yellow": (245, 215, 40),
    "orange": (245, 140, 25), "purple": (140, 60, 190), "pink": (245, 120, 185), "cyan": (40, 205, 215),
    "white": (248, 248, 248), "black": (18, 18, 18),
}
BACKGROUNDS = {"white": (248, 248, 248), "black": (18, 18, 18), "gray": (128, 128, 128),
               "blue": (40, 80, 225), "green": (40, 170, 60), "yellow": (245, 215, 40)}
POSITIONS = ["center", "top left", "top right", "bottom left", "bottom right"]


def held_out(shape: str, colour: str, background: str) -> bool:
    key = SHAPES.index(shape) * 131 + list(COLOURS).index(colour) * 17 + list(BACKGROUNDS).index(background) * 7
    return key % 8 == 3


def held_out_scenes(count: int, seed: int):
    """(shape, colour, background, size, position) tuples from the held-out triples, deterministic."""
    rng = np.random.default_rng(seed)
    triples = [(s, c, b) for s in SHAPES for c in COLOURS for b in BACKGROUNDS if c != b and held_out(s, c, b)]
    out = []
    for i in range(count):
        s, c, b = triples[i % len(triples)] if i < len(triples) else triples[rng.integers(len(triples))]
        out.append((s, c, b, ["small", "large"][rng.integers(2)], POSITIONS[rng.integers(5)]))
    return out


def canonical_prompt(shape, colour, background, size, position) -> str:
    return f"a {size} {colour} {shape} on a {background} background, {position}"


def render(shape, colour, background, size, position, px=32) -> np.ndarray:
    """RGB uint8 [px, px, 3]; the geometry of the training pictures (on a 32-pixel canvas, scaled)."""
    img = np.zeros((px, px, 3), np.uint8)
    img[:] = BACKGROUNDS[background]
    unit = px / 32
    r = (6 if size == "small" else 10) * unit
    lo, hi, mid = r + 2 * unit, px - r - 2 * unit, px / 2
    x, y = {"center": (mid, mid), "top left": (lo, lo), "top right": (hi, lo), "bottom left": (lo, hi),
            "bottom right": (hi, hi)}[position]
    shift = 4
    scale = 1 << shift
    col = tuple(int(v) for v in COLOURS[colour])
    if shape == "circle":
        cv2.circle(img, (round(x * scale), round(y * scale)), round(r * scale), col, -1, cv2.LINE_AA, shift)
        return img
    if shape == "square":
        h = r * 0.85
        pts = [(x - h, y - h), (x + h, y - h), (x + h, y + h), (x - h, y + h)]
    elif shape == "triangle":
        pts = [(x + r * math.cos(-math.pi / 2 + k * 2 * math.pi / 3),
                y + r * 1.05 * math.sin(-math.pi / 2 + k * 2 * math.pi / 3) + r * 0.12) for k in range(3)]
    else:
        pts = [(x + (r * 1.1 if k % 2 == 0 else r * 0.45) * math.cos(-math.pi / 2 + k * math.pi / 5),
                y + (r * 1.1 if k % 2 == 0 else r * 0.45) * math.sin(-math.pi / 2 + k * math.pi / 5)) for k in range(10)]
    poly = np.array([[round(px_ * scale), round(py_ * scale)] for px_, py_ in pts], np.int32)
    cv2.fillPoly(img, [poly], col, cv2.LINE_AA, shift)
    return img


def judge(img: np.ndarray):
    """(colour, shape) read from an RGB uint8 picture, or (None, None) when no shape stands out."""
    img = np.ascontiguousarray(img[:, :, :3]).astype(np.int16)
    border = np.concatenate([img[0], img[-1], img[:, 0], img[:, -1]])
    bg = np.median(border, axis=0)
    diff = np.sqrt(((img - bg) ** 2).sum(-1))
    mask = (diff > 60).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if n < 2:
        return None, None
    biggest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    region = (labels == biggest).astype(np.uint8)
    if region.sum() < 12:
        return None, None
    interior = cv2.erode(region, np.ones((3, 3), np.uint8)) if region.sum() > 60 else region
    pixels = img[interior.astype(bool)] if interior.sum() > 0 else img[region.astype(bool)]
    median = np.median(pixels, axis=0)
    colour = min(COLOURS, key=lambda c: float(((np.array(COLOURS[c]) - median) ** 2).sum()))
    contours, _ = cv2.findContours(region, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    contour = max(contours, key=cv2.contourArea)
    area = max(cv2.contourArea(contour), 1.0)
    perimeter = max(cv2.arcLength(contour, True), 1.0)
    hull = max(cv2.contourArea(cv2.convexHull(contour)), 1.0)
    solidity = area / hull
    circularity = 4 * math.pi * area / perimeter ** 2
    (_, _), (w, h), _ = cv2.minAreaRect(contour)
    extent = area / max(w * h, 1.0)  # square ~1, circle ~pi/4, triangle ~1/2
    vertices = len(cv2.approxPolyDP(contour, 0.045 * perimeter, True))
    if solidity < 0.8:
        shape = "star"
    elif vertices == 3 or circularity < 0.7:
        shape = "triangle"
    elif extent > 0.88:
        shape = "square"
    else:
        shape = "circle"
    return colour, shape
