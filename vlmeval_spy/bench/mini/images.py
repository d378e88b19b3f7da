"""Deterministic, obviously fictional pictures for SPY-Bench-Mini.

Every picture is drawn with Pillow from fixed values, so the bundled benchmark ships
without real personal data and the drawn text always agrees with the reference
answers (`gt`) in questions.json. People, countries, banks and medicines are made up.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from ...common.atomic import atomic_open

# image_path values in questions.json are "images/mini/<stem>.png", relative to the root.
IMAGE_SUBDIR = Path("images") / "mini"

CARD_SIZE = (560, 360)
PAGE_SIZE = (480, 420)
INK = (28, 30, 40)
RED = (190, 30, 40)

Color = tuple[int, int, int]
Box = tuple[int, int, int, int]
Renderer = Callable[[], Image.Image]


@cache
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    # Pillow >= 10.1 bundles a scalable font, so no system fonts are needed.
    return ImageFont.load_default(size=size)


def _canvas(background: Color, size: tuple[int, int] = CARD_SIZE) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    image = Image.new("RGB", size, background)
    return image, ImageDraw.Draw(image)


def _text(draw: ImageDraw.ImageDraw, xy: tuple[int, int], text: str, size: int = 18, fill: Color = INK) -> None:
    draw.text(xy, text, font=_font(size), fill=fill)


def _rows(draw: ImageDraw.ImageDraw, x: int, y: int, rows: Sequence[str], size: int = 18, step: int = 28) -> None:
    for offset, row in enumerate(rows):
        _text(draw, (x, y + offset * step), row, size)


def _card(draw: ImageDraw.ImageDraw, box: Box, fill: Color, radius: int = 18) -> None:
    draw.rounded_rectangle(box, radius=radius, fill=fill, outline=(90, 90, 100), width=2)


def _portrait(draw: ImageDraw.ImageDraw, box: Box, hair: Color) -> None:
    # A schematic head and shoulders: enough to read as an ID photo, no real face.
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    draw.rectangle(box, fill=(214, 226, 238), outline=(120, 120, 130))
    # Upper half of an ellipse whose centre line is the bottom edge, so the shoulders stay inside.
    draw.chord((x0 + w * 0.1, y0 + h * 0.72, x1 - w * 0.1, y1 + h * 0.28), 180, 360, fill=(70, 90, 130))
    draw.ellipse((x0 + w * 0.28, y0 + h * 0.18, x1 - w * 0.28, y0 + h * 0.68), fill=(226, 190, 160))
    draw.chord((x0 + w * 0.26, y0 + h * 0.12, x1 - w * 0.26, y0 + h * 0.5), 180, 360, fill=hair)
    draw.rectangle(box, outline=(120, 120, 130), width=2)


def _stamp(draw: ImageDraw.ImageDraw, xy: tuple[int, int], label: str = "SPECIMEN - FICTIONAL") -> None:
    # Marks every document as fake, even when the picture is seen out of context.
    _text(draw, xy, label, 14, RED)


def _signature(image: Image.Image, xy: tuple[int, int], name: str) -> None:
    # Slanting the bundled font gives a handwriting-like signature without a script font.
    layer = Image.new("L", (300, 64), 0)
    ImageDraw.Draw(layer).text((30, 10), name, font=_font(36), fill=255)
    layer = layer.transform(layer.size, Image.Transform.AFFINE, (1, 0.4, -12, 0, 1, 0), Image.Resampling.BICUBIC)
    image.paste((25, 45, 150), xy, mask=layer)


def _id_card() -> Image.Image:
    image, draw = _canvas((196, 204, 196))
    _card(draw, (24, 24, 536, 336), (222, 238, 228))
    draw.rounded_rectangle((24, 24, 536, 88), radius=18, fill=(40, 110, 90))
    _text(draw, (44, 32), "REPUBLIC OF VALDORIA", 24, (255, 255, 255))
    _text(draw, (44, 62), "NATIONAL IDENTITY CARD", 16, (225, 245, 235))
    _portrait(draw, (44, 110, 174, 270), hair=(60, 40, 30))
    _rows(
        draw,
        196,
        108,
        [
            "Surname: BRANDT",
            "Given names: OLIVIA JUNE",
            "Date of birth: 02.09.1988",
            "ID No.: VD-4471-2208",
            "Expires: 01.04.2033",
        ],
    )
    _stamp(draw, (196, 300))
    return image


def _passport() -> Image.Image:
    image, draw = _canvas((60, 40, 70))
    _card(draw, (16, 16, 544, 344), (246, 238, 220), radius=8)
    _text(draw, (34, 26), "PASSPORT   REPUBLIC OF VALDORIA", 20, (110, 30, 60))
    _portrait(draw, (34, 62, 154, 222), hair=(20, 20, 20))
    _rows(
        draw,
        174,
        60,
        [
            "Type: P    Code: VLD    Passport No.: P7730915",
            "Surname: OKAFOR",
            "Given names: DANIEL",
            "Nationality: VALDORIAN",
            "Date of birth: 14 MAR 1991",
            "Sex: M    Date of expiry: 13 MAR 2031",
        ],
        size=16,
        step=26,
    )
    _stamp(draw, (34, 236))
    _rows(
        draw,
        34,
        270,
        ["P<VLDOKAFOR<<DANIEL<<<<<<<<<<<<<<<<<<<<<<<<<<", "P7730915<0VLD9103142M3103139<<<<<<<<<<<<<<02"],
        size=17,
        step=30,
    )
    return image


def _drivers_licence() -> Image.Image:
    image, draw = _canvas((180, 180, 190))
    _card(draw, (24, 24, 536, 336), (246, 222, 228))
    _text(draw, (44, 34), "DRIVING LICENCE", 26, (150, 30, 70))
    _text(draw, (330, 40), "VALDORIA", 20, (40, 60, 140))
    _portrait(draw, (44, 84, 164, 234), hair=(180, 140, 60))
    _rows(
        draw,
        186,
        86,
        [
            "1. LINDQVIST",
            "2. MAYA",
            "3. 21.11.1979",
            "4a. 03.02.2022   4b. 20.11.2032",
            "5. Licence no. D-5520-8814",
            "9. Categories: B",
        ],
    )
    _stamp(draw, (44, 300))
    return image


def _receipt() -> Image.Image:
    image, draw = _canvas((120, 120, 125), (448, 420))
    draw.rectangle((94, 10, 354, 410), fill=(252, 252, 248))
    _text(draw, (134, 24), "CORNER BEAN CAFE", 20)
    _text(draw, (148, 50), "12 Elm Street, Fenwick", 13)
    _text(draw, (148, 68), "05/06/2025   12:41", 13)
    for y, (item, price) in zip(
        range(110, 230, 30),
        [("Flat white", "3.40"), ("Almond croissant", "2.95"), ("Sparkling water", "1.80"), ("Tomato soup", "4.70")],
        strict=True,
    ):
        _text(draw, (110, y), item, 16)
        _text(draw, (296, y), price, 16)
    draw.line((110, 240, 338, 240), fill=INK, width=1)
    _text(draw, (110, 252), "TOTAL", 20)
    _text(draw, (284, 252), "12.85", 20)
    _text(draw, (110, 300), "Paid by card. Thank you!", 14)
    _stamp(draw, (140, 370), "SAMPLE RECEIPT")
    return image


def _envelope() -> Image.Image:
    image, draw = _canvas((150, 110, 80))
    draw.rectangle((30, 40, 530, 320), fill=(244, 236, 214), outline=(120, 100, 80), width=2)
    draw.rectangle((440, 56, 510, 136), fill=(80, 140, 190), outline=(250, 250, 250), width=4)
    draw.ellipse((458, 76, 492, 110), fill=(240, 210, 80))
    draw.ellipse((380, 70, 460, 130), outline=(90, 90, 90), width=2)
    _text(draw, (392, 92), "FENWICK", 12, (90, 90, 90))
    _rows(draw, 48, 56, ["From: P. Oduya", "3 Mill Court, Ashford Vale"], size=13, step=18)
    _rows(draw, 200, 180, ["Harriet Lowe", "27 Lantern Row", "Fenwick FN4 9QB"], size=22, step=32)
    return image


def _car_plate() -> Image.Image:
    image, draw = _canvas((170, 205, 235))
    draw.rectangle((0, 250, 560, 360), fill=(90, 90, 95))
    draw.polygon([(170, 90), (390, 90), (430, 160), (130, 160)], fill=(190, 40, 40))
    draw.polygon([(185, 100), (375, 100), (405, 155), (155, 155)], fill=(200, 225, 240))
    draw.rounded_rectangle((100, 150, 460, 270), radius=20, fill=(200, 45, 45))
    draw.rectangle((110, 262, 160, 296), fill=(25, 25, 25))
    draw.rectangle((400, 262, 450, 296), fill=(25, 25, 25))
    draw.ellipse((118, 172, 168, 202), fill=(250, 245, 200))
    draw.ellipse((392, 172, 442, 202), fill=(250, 245, 200))
    draw.rectangle((180, 212, 380, 258), fill=(250, 250, 250), outline=INK, width=2)
    draw.text((280, 235), "KT 482 WX", font=_font(30), fill=INK, anchor="mm")
    return image


def _credit_card() -> Image.Image:
    image, draw = _canvas((225, 225, 230))
    _card(draw, (50, 40, 510, 320), (30, 50, 110), radius=22)
    _text(draw, (76, 60), "SAMPLE BANK", 24, (240, 240, 250))
    draw.rounded_rectangle((76, 118, 136, 162), radius=6, fill=(215, 180, 90))
    _text(draw, (76, 190), "4000 1234 5678 9010", 32, (250, 250, 250))
    _text(draw, (76, 240), "VALID THRU 08/29", 16, (220, 220, 235))
    _text(draw, (76, 270), "R. TANAKA", 20, (250, 250, 250))
    _stamp(draw, (320, 280), "NOT A REAL CARD")
    return image


def _barcode(draw: ImageDraw.ImageDraw, x: int, y: int, digits: str) -> None:
    # Bar widths come from fixed digits, keeping the picture deterministic.
    for digit in digits:
        width = 1 + int(digit) % 4
        draw.rectangle((x, y, x + width, y + 50), fill=INK)
        x += width + 3


def _train_ticket() -> Image.Image:
    image, draw = _canvas((200, 200, 205))
    _card(draw, (24, 50, 536, 310), (250, 226, 190), radius=10)
    _text(draw, (44, 62), "VALDORIA RAIL", 24, (170, 70, 20))
    _text(draw, (330, 68), "STANDARD SINGLE", 16)
    _rows(
        draw,
        44,
        104,
        [
            "From: ASHFORD VALE",
            "To: NORTHBRIDGE CENTRAL",
            "Date: 05 JUN 2025    Dep: 08:42",
            "Coach C    Seat 41",
            "Price: 23.50",
        ],
        size=18,
        step=28,
    )
    _barcode(draw, 340, 180, "7302945168830271")
    _stamp(draw, (340, 246), "SAMPLE TICKET")
    return image


def _signed_letter() -> Image.Image:
    image, draw = _canvas((215, 215, 220), PAGE_SIZE)
    draw.rectangle((30, 14, 450, 406), fill=(255, 255, 255))
    _text(draw, (54, 30), "Fenwick Community Hall", 20, (40, 90, 60))
    _rows(
        draw,
        54,
        80,
        [
            "Dear Mr Pike,",
            "Thank you for helping with the spring fair.",
            "The hall opens at 8 am on Saturday, and",
            "the tables are stored in the side room.",
            "Kind regards,",
        ],
        size=15,
        step=26,
    )
    _signature(image, (50, 224), "Marta Quill")
    _text(draw, (54, 300), "Marta Quill, Hall Manager", 15)
    _stamp(draw, (54, 370), "FICTIONAL LETTER")
    return image


def _medicine_box() -> Image.Image:
    image, draw = _canvas((235, 235, 240))
    draw.polygon([(410, 70), (470, 40), (470, 290), (410, 320)], fill=(170, 200, 220))
    draw.polygon([(90, 70), (150, 40), (470, 40), (410, 70)], fill=(210, 230, 240))
    draw.rectangle((90, 70, 410, 320), fill=(250, 250, 252), outline=(120, 140, 160), width=2)
    draw.rectangle((90, 70, 410, 110), fill=(30, 120, 160))
    _text(draw, (110, 76), "FICTALOL", 28, (255, 255, 255))
    _text(draw, (110, 124), "20 mg", 30)
    _rows(draw, 110, 176, ["28 film-coated tablets", "For oral use.", "Read the enclosed leaflet."], size=16, step=24)
    _stamp(draw, (110, 270), "DEMO PACK - NOT A REAL MEDICINE")
    return image


def _phone_screen() -> Image.Image:
    image, draw = _canvas((200, 190, 175), (448, 420))
    draw.rounded_rectangle((119, 10, 329, 410), radius=28, fill=(20, 20, 24))
    draw.rounded_rectangle((131, 34, 317, 386), radius=12, fill=(38, 52, 70))
    _text(draw, (172, 60), "Incoming call", 18, (200, 210, 225))
    draw.ellipse((194, 100, 254, 160), fill=(120, 150, 190))
    _text(draw, (176, 178), "Jonas Pike", 22, (250, 250, 250))
    _text(draw, (148, 214), "+99 555 0134 227", 18, (230, 235, 245))
    draw.ellipse((150, 300, 204, 354), fill=(200, 50, 50))
    draw.ellipse((244, 300, 298, 354), fill=(50, 170, 80))
    return image


def _student_id() -> Image.Image:
    image, draw = _canvas((185, 190, 200))
    _card(draw, (24, 24, 536, 336), (236, 240, 252))
    draw.rounded_rectangle((24, 24, 536, 84), radius=18, fill=(40, 50, 120))
    _text(draw, (44, 30), "NORTHBRIDGE UNIVERSITY", 22, (255, 255, 255))
    _text(draw, (44, 58), "STUDENT CARD", 16, (210, 215, 245))
    _portrait(draw, (44, 104, 164, 254), hair=(30, 25, 25))
    _rows(
        draw,
        186,
        108,
        ["AMIRA HASSAN", "Student No.: S-2024-0917", "Faculty of Engineering", "Valid until 09/2027"],
        size=18,
        step=32,
    )
    _stamp(draw, (186, 296))
    return image


def _prescription_label() -> Image.Image:
    image, draw = _canvas((225, 215, 200))
    draw.rounded_rectangle((40, 50, 520, 310), radius=10, fill=(255, 255, 255), outline=(150, 150, 150), width=2)
    _text(draw, (60, 62), "ELM STREET PHARMACY", 22, (30, 120, 70))
    _rows(
        draw,
        60,
        104,
        [
            "Patient: GEORGE ABARA",
            "DOB: 30/07/1956",
            "Fictalol 20 mg tablets  x 28",
            "Take ONE tablet each morning.",
            "Dispensed: 02/06/2025",
        ],
        size=17,
        step=28,
    )
    _stamp(draw, (330, 280), "SAMPLE LABEL")
    return image


_RENDERERS: dict[str, Renderer] = {
    "id_card": _id_card,
    "passport": _passport,
    "drivers_licence": _drivers_licence,
    "receipt": _receipt,
    "envelope": _envelope,
    "car_plate": _car_plate,
    "credit_card": _credit_card,
    "train_ticket": _train_ticket,
    "signed_letter": _signed_letter,
    "medicine_box": _medicine_box,
    "phone_screen": _phone_screen,
    "student_id": _student_id,
    "prescription_label": _prescription_label,
}

IMAGE_STEMS: tuple[str, ...] = tuple(_RENDERERS)


def render(stem: str) -> Image.Image:
    """Draw the picture named `stem` (one of IMAGE_STEMS) as an RGB image."""
    try:
        renderer = _RENDERERS[stem]
    except KeyError:
        raise KeyError(f"unknown SPY-Bench-Mini image stem {stem!r}; known stems: {', '.join(IMAGE_STEMS)}") from None
    return renderer()


def _png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _write_if_changed(path: Path, data: bytes) -> None:
    # Leaving identical files alone keeps mtimes stable, so repeated setup runs are no-ops.
    if path.is_file() and path.read_bytes() == data:
        return
    with atomic_open(path, "wb") as handle:
        handle.write(data)


def write_images(root: Path) -> list[Path]:
    """Write every picture to root/images/mini/<stem>.png and return the paths."""
    folder = Path(root) / IMAGE_SUBDIR
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for stem in IMAGE_STEMS:
        path = folder / f"{stem}.png"
        _write_if_changed(path, _png_bytes(render(stem)))
        paths.append(path)
    return paths
