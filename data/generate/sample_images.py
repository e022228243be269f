"""Sample pictures for img_classifier.py: parrots, narwhals and axolotls drawn with Pillow.

A picture is described by a small dict (a "spec": animal, palette, scene, style, size,
pose, distractors, light), sampled with `sample_spec`, turned into the CSV's prompt with
`describe` and into pixels with `render`. Specs are sampled from one random stream and each
picture is rendered from its own seed, so prompts and pixels are both reproducible.

The point of the variety: colour should help (a red-and-green bird is probably a parrot),
but not be enough (pink parrots and pink axolotls, white cockatoos and white narwhals, blue
axolotls and whales both in blue water), so the grayscale and CNN-vs-MLP experiments of
the course give a meaningful answer. Each animal also has the shape a person knows it by:
a hooked beak, a spiral tusk, frilly external gills.
"""

import math
import random

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageOps

# ---------------------------------------------------------------------------- palettes
# Each palette: name used in the prompt, then the colours the drawing function expects.

PARROT_PALETTES = {
    "scarlet": dict(
        body=(206, 32, 38),
        wing=(30, 90, 190),
        wing2=(250, 200, 40),
        tail=(35, 80, 180),
        head=(215, 40, 40),
        beak=(235, 230, 220),
    ),
    "green": dict(
        body=(60, 160, 60),
        wing=(30, 110, 180),
        wing2=(40, 130, 50),
        tail=(40, 140, 70),
        head=(200, 40, 40),
        beak=(60, 60, 60),
    ),
    "blue-and-gold": dict(
        body=(245, 190, 40),
        wing=(30, 110, 200),
        wing2=(20, 80, 170),
        tail=(30, 100, 190),
        head=(40, 130, 60),
        beak=(40, 40, 40),
    ),
    "white": dict(
        body=(240, 240, 235),
        wing=(225, 225, 220),
        wing2=(210, 210, 205),
        tail=(230, 230, 225),
        head=(245, 245, 240),
        beak=(70, 70, 75),
        crest=(250, 220, 60),
    ),
    "pink": dict(
        body=(236, 130, 160),
        wing=(170, 170, 175),
        wing2=(140, 140, 150),
        tail=(160, 160, 165),
        head=(250, 190, 205),
        beak=(225, 215, 205),
    ),
    "grey": dict(
        body=(140, 145, 150),
        wing=(110, 115, 120),
        wing2=(90, 95, 100),
        tail=(200, 30, 40),
        head=(160, 165, 170),
        beak=(35, 35, 35),
    ),
    "rainbow": dict(
        body=(250, 120, 30),
        wing=(40, 170, 60),
        wing2=(250, 220, 50),
        tail=(40, 150, 80),
        head=(40, 60, 180),
        beak=(230, 60, 40),
    ),
    "yellow": dict(
        body=(250, 215, 60),
        wing=(240, 150, 40),
        wing2=(60, 160, 70),
        tail=(90, 170, 80),
        head=(250, 140, 40),
        beak=(60, 60, 60),
    ),
}
NARWHAL_PALETTES = {
    "mottled grey": dict(body=(135, 140, 145), belly=(225, 225, 220), spots=(70, 75, 82)),
    "pale": dict(body=(210, 212, 210), belly=(245, 245, 242), spots=(120, 125, 130)),
    "dark": dict(body=(75, 80, 90), belly=(170, 172, 175), spots=(40, 42, 50)),
    "blue-grey": dict(body=(110, 135, 165), belly=(215, 225, 235), spots=(60, 75, 100)),
    "pastel blue": dict(body=(150, 190, 230), belly=(230, 240, 250), spots=(100, 140, 190)),
    "pink": dict(body=(230, 160, 185), belly=(250, 225, 232), spots=(190, 110, 140)),
}
AXOLOTL_PALETTES = {
    "pink": dict(body=(246, 176, 190), gills=(215, 60, 100), belly=(252, 210, 218)),
    "golden": dict(body=(240, 200, 90), gills=(235, 130, 70), belly=(250, 230, 160)),
    "wild": dict(body=(95, 95, 60), gills=(70, 60, 45), belly=(140, 135, 95), speckle=(40, 40, 30)),
    "blue": dict(body=(110, 140, 210), gills=(70, 80, 170), belly=(170, 190, 235)),
    "white": dict(body=(240, 238, 232), gills=(225, 90, 110), belly=(250, 248, 245)),
    "black": dict(body=(45, 45, 55), gills=(30, 30, 40), belly=(80, 80, 90)),
    "lavender": dict(body=(190, 160, 215), gills=(150, 90, 190), belly=(220, 200, 235)),
}
PALETTES = {"parrot": PARROT_PALETTES, "narwhal": NARWHAL_PALETTES, "axolotl": AXOLOTL_PALETTES}
# Some palettes are commoner than others, like real pictures of each animal.
PALETTE_WEIGHTS = {
    "parrot": {
        "scarlet": 3,
        "green": 3,
        "blue-and-gold": 2,
        "white": 2,
        "pink": 2,
        "grey": 1,
        "rainbow": 2,
        "yellow": 1,
    },
    "narwhal": {
        "mottled grey": 4,
        "pale": 2,
        "dark": 2,
        "blue-grey": 2,
        "pastel blue": 1,
        "pink": 1,
    },
    "axolotl": {
        "pink": 4,
        "golden": 2,
        "wild": 2,
        "blue": 2,
        "white": 1,
        "black": 1,
        "lavender": 1,
    },
}

# Scenes each animal is usually shown in; every animal can appear in every scene.
SCENES = ["jungle", "sky", "arctic sea", "open sea", "aquarium", "pond", "room", "plain"]
SCENE_WEIGHTS = {
    "parrot": {
        "jungle": 5,
        "sky": 3,
        "room": 1.5,
        "plain": 2,
        "pond": 0.5,
        "aquarium": 0.2,
        "arctic sea": 0.2,
        "open sea": 0.3,
    },
    "narwhal": {
        "arctic sea": 5,
        "open sea": 4,
        "aquarium": 0.7,
        "plain": 1.5,
        "sky": 0.5,
        "room": 0.3,
        "pond": 0.2,
        "jungle": 0.1,
    },
    "axolotl": {
        "aquarium": 4,
        "pond": 3.5,
        "plain": 1.5,
        "room": 1,
        "open sea": 1,
        "jungle": 0.3,
        "sky": 0.2,
        "arctic sea": 0.2,
    },
}
STYLES = ["flat cartoon", "soft painting", "photo", "pixel art", "pastel sketch"]
LIGHTS = ["day", "dusk", "night", "morning"]
DISTRACTORS = {
    "jungle": ["flower", "butterfly", "leaf", "fruit"],
    "sky": ["cloud", "sun", "balloon", "kite"],
    "arctic sea": ["iceberg", "fish", "boat", "bird"],
    "open sea": ["fish", "boat", "bubbles", "rock"],
    "aquarium": ["fish", "bubbles", "rock", "plant"],
    "pond": ["lily pad", "rock", "reed", "fish"],
    "room": ["cup", "ball", "lamp", "book"],
    "plain": ["ball", "star", "flower", "cup"],
}

# ---------------------------------------------------------------------------- specs


def _weighted(rng, weights):
    names = sorted(weights)
    return rng.choices(names, [weights[n] for n in names])[0]


def _size(rng):
    """Width and height: mixed aspect ratios, a few pictures smaller than 256 px a side."""
    aspect = rng.choice([1.0, 1.0, 4 / 3, 3 / 4, 16 / 9, 9 / 16, 3 / 2, 2 / 3])
    short = rng.randint(150, 255) if rng.random() < 0.15 else rng.randint(256, 400)
    long_side = int(round(short * max(aspect, 1 / aspect)))
    return (long_side, short) if aspect >= 1 else (short, long_side)


def sample_spec(rng, label):
    """Everything that decides one picture, drawn from `rng` (a random.Random)."""
    scene = _weighted(rng, SCENE_WEIGHTS[label])
    return {
        "label": label,
        "palette": _weighted(rng, PALETTE_WEIGHTS[label]),
        "scene": scene,
        "style": rng.choice(STYLES),
        "light": rng.choice(LIGHTS) if rng.random() < 0.25 else "day",
        "size": _size(rng),
        "scale": rng.uniform(0.55, 1.0),
        "center": (rng.uniform(0.3, 0.7), rng.uniform(0.35, 0.65)),
        "angle": rng.uniform(-25, 25),
        "mirror": rng.random() < 0.5,
        "branch": label == "parrot" and rng.random() < 0.6,
        "distractors": rng.sample(DISTRACTORS[scene], rng.randint(0, 3)),
        "seed": rng.randrange(2**31),
        "quality": rng.randint(72, 90),
    }


_STYLE_WORDS = {
    "flat cartoon": [
        "a flat cartoon of",
        "a cartoon illustration of",
        "a simple vector drawing of",
    ],
    "soft painting": [
        "a watercolour painting of",
        "a soft oil painting of",
        "a gouache painting of",
    ],
    "photo": ["a photo of", "a realistic photograph of", "a wildlife photo of"],
    "pixel art": ["pixel art of", "a retro 16-bit sprite of", "an 8-bit pixel drawing of"],
    "pastel sketch": [
        "a pastel sketch of",
        "a soft pastel drawing of",
        "a chalk pastel picture of",
    ],
}
_SCENE_WORDS = {
    "jungle": ["in a lush jungle", "among rainforest leaves", "in a tropical forest"],
    "sky": ["flying in a blue sky", "against a cloudy sky", "high above the clouds"],
    "arctic sea": ["in the icy arctic sea", "between ice floes", "in freezing polar water"],
    "open sea": ["swimming in the deep blue ocean", "in the open sea", "underwater in the ocean"],
    "aquarium": ["in a glass aquarium", "in a fish tank with gravel", "in an aquarium with plants"],
    "pond": ["in a murky pond", "in a green pond with lily pads", "among pond reeds"],
    "room": ["in a cosy living room", "on a table in a bright room", "indoors by a window"],
    "plain": [
        "on a plain background",
        "on a white studio backdrop",
        "isolated on a simple background",
    ],
}
_LIGHT_WORDS = {
    "day": "",
    "dusk": " at dusk",
    "night": " at night",
    "morning": " in the early morning",
}
_EXTRAS = [
    "highly detailed",
    "trending on artstation",
    "4k",
    "soft lighting",
    "cute",
    "children's book style",
    "award-winning",
    "sharp focus",
]


def describe(spec, rng):
    """A text-to-image style prompt for `spec`: commas always, quotes and newlines sometimes."""
    palette = spec["palette"]
    words = f"{rng.choice(_STYLE_WORDS[spec['style']])} a {palette} {spec['label']} "
    words += rng.choice(_SCENE_WORDS[spec["scene"]]) + _LIGHT_WORDS[spec["light"]]
    if spec["branch"]:
        words += ", perched on a branch"
    if spec["distractors"]:
        words += ", with " + " and ".join(f"a {d}" for d in spec["distractors"])
    extras = rng.sample(_EXTRAS, rng.randint(1, 3))
    if rng.random() < 0.15:
        extras.append(
            f'"{rng.choice(["Morning Swim", "Hello Friend", "Deep Blue", "Tiny Explorer"])}" poster'
        )
    joiner = ",\n" if rng.random() < 0.08 else ", "
    return words + joiner + ", ".join(extras)


# ---------------------------------------------------------------------------- drawing helpers


def _ellipse(cx, cy, rx, ry, rotation=0.0, n=48):
    cos, sin = math.cos(math.radians(rotation)), math.sin(math.radians(rotation))
    points = []
    for k in range(n):
        t = 2 * math.pi * k / n
        x, y = rx * math.cos(t), ry * math.sin(t)
        points.append((cx + x * cos - y * sin, cy + x * sin + y * cos))
    return points


def _shade(color, factor):
    return tuple(max(0, min(255, int(c * factor))) for c in color)


def _jitter(rng, color, amount=18):
    return tuple(max(0, min(255, c + rng.randint(-amount, amount))) for c in color)


class _Pen:
    """Draws filled shapes, with a dark outline in cartoon styles."""

    def __init__(self, image, outline, width):
        self.draw = ImageDraw.Draw(image)
        self.outline, self.width = outline, width

    def poly(self, points, fill, outline=True):
        self.draw.polygon(
            points,
            fill=fill,
            outline=self.outline if outline else None,
            width=self.width if outline and self.outline else 1,
        )

    def line(self, points, fill, width):
        self.draw.line(points, fill=fill, width=width, joint="curve")

    def dot(self, cx, cy, r, fill, outline=False):
        self.poly(_ellipse(cx, cy, r, r, n=24), fill, outline)


# ---------------------------------------------------------------------------- animals
# Each returns an RGBA layer with the animal facing right.


def _parrot(rng, colors, outline, branch):
    layer = Image.new("RGBA", (420, 440), (0, 0, 0, 0))
    pen = _Pen(layer, outline, 4)
    c = {k: _jitter(rng, v) for k, v in colors.items()}
    if branch:
        pen.line([(0, 350), (200, 340), (420, 355)], (110, 75, 40), 22)
        for x in (40, 330):
            pen.poly(_ellipse(x, 330, 30, 12, rotation=-30), (60, 140, 60))
    for k, dx in enumerate((-20, 0, 20)):  # long tail feathers
        pen.poly(
            [(150 + dx, 280), (185 + dx, 290), (110 + dx * 2, 430), (90 + dx * 2, 425)],
            _shade(c["tail"], 1 - 0.08 * k),
        )
    pen.poly(_ellipse(190, 230, 70, 115, rotation=15), c["body"])
    pen.poly(_ellipse(170, 240, 45, 95, rotation=20), c["wing"])
    pen.poly(_ellipse(160, 285, 30, 55, rotation=25), c["wing2"])
    for k in range(4):  # feather lines on the wing
        pen.line(
            [(150 + 6 * k, 200 + 18 * k), (185 + 6 * k, 215 + 18 * k)], _shade(c["wing"], 0.7), 3
        )
    if "crest" in c:
        for k in range(4):
            pen.poly([(215 + 8 * k, 80), (200 + 12 * k, 20 + 6 * k), (232 + 8 * k, 75)], c["crest"])
    pen.dot(235, 115, 58, c["head"], outline=True)
    pen.dot(258, 108, 22, (250, 250, 245))  # pale face patch around the eye
    pen.dot(260, 106, 9, (15, 15, 15))
    # Hooked beak: the upper mandible curls down past the lower one.
    pen.poly(
        [(282, 92), (312, 98), (332, 122), (330, 158), (316, 146), (309, 126), (284, 128)],
        c["beak"],
    )
    pen.poly([(286, 128), (308, 130), (304, 148), (288, 142)], _shade(c["beak"], 0.7))
    for x in (180, 215):  # feet gripping the perch
        pen.line([(x, 335), (x - 8, 352), (x + 10, 352)], (90, 90, 95), 7)
    return layer


def _narwhal(rng, colors, outline):
    layer = Image.new("RGBA", (640, 320), (0, 0, 0, 0))
    pen = _Pen(layer, outline, 4)
    c = {k: _jitter(rng, v, 12) for k, v in colors.items()}
    body = _ellipse(300, 160, 170, 68)[8:41]  # the rear half is replaced by a tapering tail
    body = [(p[0], p[1]) for p in body] + [(120, 175), (60, 162), (120, 146)]
    pen.poly([(70, 160), (15, 115), (35, 160), (15, 205)], _shade(c["body"], 0.85))  # flukes
    pen.poly(sorted(body, key=lambda p: math.atan2(p[1] - 160, p[0] - 300)), c["body"])
    pen.poly(_ellipse(320, 190, 140, 30), c["belly"], outline=False)
    # Mottling: dark spots on the back, kept inside the body.
    spots = Image.new("RGBA", layer.size, (0, 0, 0, 0))
    spot_pen = ImageDraw.Draw(spots)
    for _ in range(rng.randint(18, 40)):
        x, y = rng.uniform(120, 440), rng.uniform(100, 175)
        r = rng.uniform(4, 12)
        spot_pen.ellipse([x - r, y - r * 0.7, x + r, y + r * 0.7], fill=c["spots"] + (200,))
    alpha = layer.getchannel("A")
    layer.alpha_composite(Image.composite(spots, Image.new("RGBA", layer.size), alpha))
    pen.poly(_ellipse(330, 205, 35, 14, rotation=30), _shade(c["body"], 0.8))  # flipper
    pen.dot(420, 150, 6, (20, 20, 25))
    pen.line([(440, 178), (462, 172)], _shade(c["body"], 0.5), 3)
    # The long spiral tusk from the upper jaw.
    tusk = [(462, 148), (635, 92), (466, 160)]
    pen.poly(tusk, (236, 228, 205))
    for k in range(1, 12):
        x = 466 + k * 14
        y = 152 - k * 4.8
        pen.line([(x - 4, y - 5), (x + 4, y + 3)], (170, 160, 135), 2)
    return layer


def _axolotl(rng, colors, outline):
    layer = Image.new("RGBA", (520, 340), (0, 0, 0, 0))
    pen = _Pen(layer, outline, 4)
    c = {k: _jitter(rng, v, 14) for k, v in colors.items()}
    # Tail with a see-through fin.
    pen.poly([(160, 150), (20, 175), (30, 195), (160, 215)], c["body"])
    pen.poly(
        [(170, 140), (20, 160), (10, 180), (25, 210), (170, 228)],
        c["belly"] + (140,),
        outline=False,
    )
    for x, y in ((190, 230), (280, 232), (205, 118), (290, 120)):  # four little legs
        toe_y = y + 35 if y > 180 else y - 35
        pen.line([(x, y), (x + 10, toe_y)], c["body"], 14)
        for dx in (-8, 4, 16):
            pen.line(
                [(x + 10, toe_y), (x + 10 + dx, toe_y + (8 if y > 180 else -8))],
                _shade(c["body"], 0.8),
                3,
            )
    pen.poly(_ellipse(240, 175, 125, 48), c["body"])
    pen.poly(_ellipse(250, 195, 100, 22), c["belly"], outline=False)
    if "speckle" in c:
        for _ in range(40):
            pen.dot(rng.uniform(140, 440), rng.uniform(140, 210), rng.uniform(2, 4), c["speckle"])
    # Frilly external gills: three stalks each side of the head, feathered with filaments.
    for side in (-1, 1):
        x0, y0 = 355, 175 + side * 38
        for angle in (15, 45, 75):
            dx, dy = -80 * math.cos(math.radians(angle)), side * 80 * math.sin(math.radians(angle))
            pen.line([(x0, y0), (x0 + dx, y0 + dy)], c["gills"], 9)
            px, py = -dy / 80 * 12, dx / 80 * 12  # a filament's offset, across the stalk
            for t in (0.35, 0.5, 0.65, 0.8, 0.95):
                fx, fy = x0 + dx * t, y0 + dy * t
                pen.line([(fx - px, fy - py), (fx + px, fy + py)], c["gills"], 4)
    pen.poly(_ellipse(390, 175, 80, 60), c["body"])  # wide, flat head
    for dy in (-26, 26):
        pen.dot(425, 175 + dy, 7, (20, 20, 20))
    pen.draw.arc([400, 170, 468, 212], 20, 120, fill=_shade(c["body"], 0.45), width=4)  # the smile
    return layer


# ---------------------------------------------------------------------------- scenes


def _gradient(size, top, bottom):
    w, h = size
    t = np.linspace(0, 1, h)[:, None, None]
    rows = (1 - t) * np.array(top, float) + t * np.array(bottom, float)
    return Image.fromarray(np.broadcast_to(rows, (h, w, 3)).astype(np.uint8))


def _scene(rng, name, size):
    w, h = size
    j = lambda col: _jitter(rng, col, 20)  # noqa: E731 - a local shorthand
    if name == "jungle":
        img = _gradient(size, j((120, 180, 90)), j((30, 80, 35)))
        draw = ImageDraw.Draw(img)
        for _ in range(25):
            x, y = rng.uniform(0, w), rng.uniform(0, h)
            draw.polygon(
                _ellipse(x, y, w * 0.09, h * 0.03, rotation=rng.uniform(0, 180)),
                fill=j((40, rng.randint(100, 160), 50)),
            )
    elif name == "sky":
        img = _gradient(size, j((90, 150, 230)), j((190, 220, 250)))
    elif name == "arctic sea":
        img = _gradient(size, j((200, 220, 235)), j((30, 60, 110)))
        draw = ImageDraw.Draw(img)
        for _ in range(rng.randint(2, 5)):
            x, y = rng.uniform(0, w), rng.uniform(h * 0.45, h)
            draw.polygon(
                [
                    (x, y),
                    (x + w * 0.2, y + 4),
                    (x + w * 0.15, y + h * 0.05),
                    (x - w * 0.03, y + h * 0.04),
                ],
                fill=j((235, 242, 250)),
            )
    elif name == "open sea":
        img = _gradient(size, j((40, 110, 170)), j((10, 35, 80)))
    elif name == "aquarium":
        img = _gradient(size, j((80, 170, 180)), j((30, 100, 120)))
        draw = ImageDraw.Draw(img)
        draw.rectangle([0, h * 0.85, w, h], fill=j((170, 150, 120)))
        for _ in range(60):
            x, y = rng.uniform(0, w), rng.uniform(h * 0.85, h)
            draw.ellipse([x - 3, y - 2, x + 3, y + 2], fill=j((120, 105, 90)))
        draw.rectangle([0, 0, w - 1, h - 1], outline=(200, 210, 210), width=max(3, w // 60))
    elif name == "pond":
        img = _gradient(size, j((90, 120, 70)), j((50, 60, 35)))
    elif name == "room":
        img = Image.new(
            "RGB",
            size,
            j(rng.choice([(230, 215, 190), (200, 210, 225), (235, 200, 200), (210, 230, 205)])),
        )
        draw = ImageDraw.Draw(img)
        draw.rectangle([0, h * 0.7, w, h], fill=j((150, 110, 75)))
        x = rng.uniform(0.05, 0.6) * w
        draw.rectangle(
            [x, h * 0.12, x + w * 0.3, h * 0.5],
            fill=j((200, 225, 245)),
            outline=(250, 250, 250),
            width=4,
        )
    else:  # plain studio backdrop
        img = Image.new(
            "RGB",
            size,
            j(
                rng.choice(
                    [
                        (245, 245, 245),
                        (235, 230, 220),
                        (210, 225, 240),
                        (250, 235, 240),
                        (60, 60, 65),
                    ]
                )
            ),
        )
    # Brighter or darker scenes of every kind, so that in grayscale the background's brightness
    # says little about the animal while its hue (in colour) still says something.
    return ImageEnhance.Brightness(img).enhance(rng.uniform(0.6, 1.35))


def _distractor(rng, draw, name, size):
    w, h = size
    x, y, r = (
        rng.uniform(0.05, 0.95) * w,
        rng.uniform(0.05, 0.95) * h,
        rng.uniform(0.03, 0.08) * min(w, h),
    )
    color = _jitter(
        rng,
        rng.choice([(230, 60, 60), (250, 200, 50), (90, 120, 220), (240, 240, 240), (120, 90, 60)]),
        25,
    )
    if name in ("fish", "leaf", "lily pad", "boat"):
        draw.polygon(
            _ellipse(x, y, r * 1.6, r * 0.7), fill=color if name != "lily pad" else (70, 140, 60)
        )
        if name == "fish":
            draw.polygon(
                [(x - r * 1.5, y), (x - r * 2.4, y - r * 0.7), (x - r * 2.4, y + r * 0.7)],
                fill=color,
            )
    elif name in ("bubbles",):
        for k in range(5):
            draw.ellipse(
                [x - r / 3, y - k * r - r / 3, x + r / 3, y - k * r + r / 3],
                outline=(230, 240, 250),
                width=2,
            )
    elif name in ("cloud",):
        for dx in (-r, 0, r):
            draw.ellipse([x + dx - r, y - r * 0.7, x + dx + r, y + r * 0.7], fill=(250, 250, 252))
    elif name in ("star", "sun", "flower", "butterfly", "kite", "bird"):
        points = [
            (
                x + r * (1 if k % 2 == 0 else 0.45) * math.cos(k * math.pi / 5),
                y + r * (1 if k % 2 == 0 else 0.45) * math.sin(k * math.pi / 5),
            )
            for k in range(10)
        ]
        draw.polygon(points, fill=color)
    elif name in ("reed", "plant"):
        draw.line(
            [(x, h), (x + rng.uniform(-r, r), y)], fill=(60, 110, 50), width=max(2, int(r / 4))
        )
    elif name in ("iceberg", "rock"):
        draw.polygon(
            [
                (x - r * 1.5, y + r),
                (x - r * 0.4, y - r),
                (x + r * 0.6, y - r * 0.6),
                (x + r * 1.5, y + r),
            ],
            fill=(240, 245, 250) if name == "iceberg" else (110, 105, 100),
        )
    else:  # ball, balloon, fruit, cup, lamp, book: a round-ish coloured object
        draw.ellipse([x - r, y - r, x + r, y + r], fill=color)


# ---------------------------------------------------------------------------- styles


def _apply_style(img, style, rng):
    if style == "soft painting":
        img = img.filter(ImageFilter.GaussianBlur(rng.uniform(1.5, 3.0)))
        return img.filter(ImageFilter.ModeFilter(5))
    if style == "photo":
        arr = np.asarray(img.filter(ImageFilter.GaussianBlur(0.8)), dtype=np.float32)
        noise = np.random.default_rng(rng.randrange(2**31)).normal(0, 10, arr.shape)
        h, w = arr.shape[:2]
        yy, xx = np.mgrid[0:h, 0:w]
        vignette = 1 - 0.35 * (((xx - w / 2) / w) ** 2 + ((yy - h / 2) / h) ** 2) * 2
        return Image.fromarray(np.clip(arr * vignette[..., None] + noise, 0, 255).astype(np.uint8))
    if style == "pixel art":
        w, h = img.size
        block = rng.randint(5, 9)
        small = img.resize((max(8, w // block), max(8, h // block)), Image.Resampling.BILINEAR)
        small = small.quantize(colors=24, dither=Image.Dither.NONE).convert("RGB")
        return small.resize((w, h), Image.Resampling.NEAREST)
    if style == "pastel sketch":
        return Image.blend(img, Image.new("RGB", img.size, (255, 250, 245)), rng.uniform(0.3, 0.45))
    return img  # flat cartoon: outlines were drawn with the shapes


def _apply_light(img, light):
    if light == "day":
        return img
    tint = {"dusk": (255, 150, 90), "night": (40, 50, 110), "morning": (255, 235, 180)}[light]
    amount = {"dusk": 0.3, "night": 0.45, "morning": 0.2}[light]
    img = Image.blend(img, Image.new("RGB", img.size, tint), amount)
    return img.point(lambda v: int(v * 0.7)) if light == "night" else img


def render(spec):
    """The picture for `spec` as an RGB PIL image of spec["size"]."""
    rng = random.Random(spec["seed"])
    supersample = (
        2  # draw at twice the size, then shrink: smooth edges without antialiasing support
    )
    size = tuple(s * supersample for s in spec["size"])
    img = _scene(rng, spec["scene"], size)
    draw = ImageDraw.Draw(img)
    for name in spec["distractors"]:
        _distractor(rng, draw, name, size)
    outline = (25, 25, 25) if spec["style"] == "flat cartoon" else None
    colors = PALETTES[spec["label"]][spec["palette"]]
    if spec["label"] == "parrot":
        animal = _parrot(rng, colors, outline, spec["branch"])
    elif spec["label"] == "narwhal":
        animal = _narwhal(rng, colors, outline)
    else:
        animal = _axolotl(rng, colors, outline)
    if spec["mirror"]:
        animal = ImageOps.mirror(animal)
    animal = animal.rotate(spec["angle"], resample=Image.Resampling.BICUBIC, expand=True)
    fit = spec["scale"] * min(size[0] / animal.width, size[1] / animal.height)
    animal = animal.resize(
        (max(1, int(animal.width * fit)), max(1, int(animal.height * fit))),
        Image.Resampling.LANCZOS,
    )
    x = int(spec["center"][0] * size[0] - animal.width / 2)
    y = int(spec["center"][1] * size[1] - animal.height / 2)
    img.paste(animal, (x, y), animal)
    img = img.resize(spec["size"], Image.Resampling.LANCZOS)
    return _apply_light(_apply_style(img, spec["style"], rng), spec["light"])
