"""The renditions an image gets, as configured (RENDITIONS="thumb:150,small:320,..."): names and long edges.

Apart from the image code so that functions which only need the names (the workflow's endings clean up per
rendition) never load Pillow.
"""

from __future__ import annotations

from dataclasses import dataclass

from imgplat_common.keys import check_rendition_name

MAX_LONG_EDGE = 10_000


@dataclass(frozen=True)
class RenditionSpec:
    """One rendition to make: its name and the length of its longer side, in pixels."""

    name: str
    long_edge: int

    def __post_init__(self) -> None:
        # InvalidKeyError (a ValueError) for a name rendition_key would refuse: every spec must be storable.
        check_rendition_name(self.name)
        if not 1 <= self.long_edge <= MAX_LONG_EDGE:
            raise ValueError(f"rendition {self.name!r} long edge must be between 1 and {MAX_LONG_EDGE}")


def parse_rendition_specs(text: str) -> tuple[RenditionSpec, ...]:
    """Read specs such as "thumb:150,small:320,medium:800,large:1600"; raise ValueError on anything else."""
    items = [item.strip() for item in text.split(",")]
    if not text.strip() or any(not item for item in items):
        raise ValueError(f"rendition list {text!r} must be name:long_edge pairs separated by commas")
    specs: list[RenditionSpec] = []
    for item in items:
        name, separator, size = (part.strip() for part in item.partition(":"))
        if not separator or not (size.isascii() and size.isdigit()):  # int() also reads other scripts' digits
            raise ValueError(f"rendition {item!r} must look like name:long_edge, for example thumb:150")
        specs.append(RenditionSpec(name, int(size)))
    names = [spec.name for spec in specs]
    if len(set(names)) != len(names):
        raise ValueError(f"rendition names must be unique in {text!r}")
    return tuple(specs)
