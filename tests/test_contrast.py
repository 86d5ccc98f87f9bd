"""Status colours in the admin and the public page's "full" label meet WCAG AA: a contrast
ratio of at least 4.5:1, computed from the values in the stylesheets."""

import re

import pytest

from config.settings import BASE_DIR

STATIC = BASE_DIR / "bookings" / "static" / "bookings"
# The backgrounds a status is shown on in Django's admin: the page, the darkened (odd) rows
# and the selected row, in the light theme and the dark one (admin/css/base.css, dark_mode.css).
LIGHT_BACKGROUNDS = ["#ffffff", "#f8f8f8", "#ffffcc"]
DARK_BACKGROUNDS = ["#121212", "#212121", "#00363a"]


def luminance(hex_colour: str) -> float:
    """Relative luminance (WCAG 2.x)."""
    channels = [int(hex_colour.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(foreground: str, background: str) -> float:
    lighter, darker = sorted([luminance(foreground), luminance(background)], reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def expand(hex_colour: str) -> str:
    digits = hex_colour.lstrip("#")
    return "#" + ("".join(d * 2 for d in digits) if len(digits) == 3 else digits)


def colours(block: str) -> dict[str, str]:
    return dict(re.findall(r"--(status-[\w-]+):\s*(#[0-9a-fA-F]{3,6})", block))


def status_palettes() -> dict[str, dict[str, str]]:
    """{"light": {name: colour}, "dark": {...}} from the blocks that define --status-*: the
    light theme, the dark one chosen in the admin, and the dark one the system prefers."""
    css = (STATIC / "admin.css").read_text()
    light = re.search(r'html\[data-theme="light"\]\s*\{([^}]*)\}', css).group(1)
    dark = re.search(r'html\[data-theme="dark"\]\s*\{([^}]*)\}', css).group(1)
    preferred = re.search(
        r"@media \(prefers-color-scheme: dark\)\s*\{\s*:root\s*\{([^}]*)\}", css
    ).group(1)
    assert colours(preferred) == colours(dark)
    return {"light": colours(light), "dark": colours(dark)}


def test_both_themes_define_every_status_colour():
    palettes = status_palettes()

    assert set(palettes) == {"light", "dark"}
    assert set(palettes["light"]) == set(palettes["dark"])
    css = (STATIC / "admin.css").read_text()
    used = set(re.findall(r"var\(--(status-[\w-]+)\)", css))
    assert used == set(palettes["light"])


@pytest.mark.parametrize(
    ("theme", "backgrounds"), [("light", LIGHT_BACKGROUNDS), ("dark", DARK_BACKGROUNDS)]
)
def test_status_colours_meet_aa_on_every_admin_background(theme, backgrounds):
    too_faint = {
        (name, background): round(contrast(expand(colour), background), 2)
        for name, colour in status_palettes()[theme].items()
        for background in backgrounds
        if contrast(expand(colour), background) < 4.5
    }

    assert too_faint == {}


def test_the_public_pages_full_label_meets_aa():
    css = (STATIC / "public.css").read_text()
    rule = re.search(r"\.slot\.full\s*\{([^}]*)\}", css).group(1)
    colour = re.search(r"(?<![-\w])color:\s*(#[0-9a-fA-F]{3,6})", rule).group(1)
    background = re.search(r"background:\s*(#[0-9a-fA-F]{3,6})", rule).group(1)

    assert contrast(expand(colour), expand(background)) >= 4.5


def test_the_contrast_formula_matches_known_values():
    assert round(contrast("#000000", "#ffffff"), 1) == 21.0
    assert round(contrast("#777777", "#ffffff"), 2) == 4.48  # the classic just-failing grey
