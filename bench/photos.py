"""The benchmark's input photos: real wallpapers from Debian packages, plus a few copies derived from them.

    python bench/photos.py            # prepares .cache/bench-photos (idempotent; bench/processing.py calls it too)

`apt-get download mate-backgrounds ukui-wallpapers` + `dpkg -x` (no network beyond Debian's registry) give 18 JPEGs
of 2-18 MP, some progressive. None of them is EXIF-rotated and none is above 18 MP, so the script derives, and says
so in each name:
  * `rotated6-*`, `rotated8-*`: a photo's pixels turned and an EXIF orientation tag (6 or 8) written that turns them
    back, so the upright result is the original photo;
  * `upscaled24mp-*`: a 17.9 MP photo upscaled (LANCZOS) to 24 MP, the size the RSS target names;
  * `alpha-*.png`: a photo with a radial alpha fade (RGBA PNG);
  * `worstcase/`: 40 MP files (the validator's pixel cap), baseline and progressive JPEG and an RGBA PNG, used only
    for the memory measurement, not in the timing set.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "bench-photos"
PACKAGES = ("mate-backgrounds", "ukui-wallpapers")
MIN_PIXELS = 2_000_000
MAX_PIXELS = 24_000_000
WORST_CASE_PIXELS = 40_000_000
MANIFEST_VERSION = 1


@dataclass(frozen=True)
class Photo:
    """One input: its path, format, stored size, megapixels and what kind of file it is."""

    path: str
    format: str
    width: int
    height: int
    megapixels: float
    progressive: bool
    orientation: int
    derived: str  # "" for a packaged photo, else how it was made


def ensure_corpus(cache: Path = CACHE) -> tuple[list[Photo], list[Photo]]:
    """The timing set and the 40 MP worst-case set, preparing them on first use."""
    manifest = cache / "manifest.json"
    if manifest.exists():
        stored = json.loads(manifest.read_text())
        if stored.get("version") == MANIFEST_VERSION:
            return [Photo(**p) for p in stored["photos"]], [Photo(**p) for p in stored["worst_case"]]
    photos_dir, worst_dir = cache / "photos", cache / "worstcase"
    for folder in (photos_dir, worst_dir):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    extracted = _extract_packages(cache)
    originals = _packaged_jpegs(extracted)
    for source in originals:
        shutil.copyfile(source, photos_dir / source.name)
    _derive(originals, photos_dir, worst_dir)
    photos = [_describe(path) for path in sorted(photos_dir.iterdir())]
    worst = [_describe(path) for path in sorted(worst_dir.iterdir())]
    manifest.write_text(
        json.dumps(
            {
                "version": MANIFEST_VERSION,
                "photos": [asdict(p) for p in photos],
                "worst_case": [asdict(p) for p in worst],
            },
            indent=1,
        )
    )
    return photos, worst


def _extract_packages(cache: Path) -> Path:
    debs, extracted = cache / "debs", cache / "extracted"
    debs.mkdir(parents=True, exist_ok=True)
    if not list(debs.glob("*.deb")):
        print(f"==> apt-get download {' '.join(PACKAGES)} (into {debs})", file=sys.stderr)
        download = subprocess.run(["apt-get", "download", *PACKAGES], cwd=debs, capture_output=True, text=True)
        if download.returncode != 0:  # a fresh machine has no package lists yet
            subprocess.run(["apt-get", "update", "-qq"], check=True)
            subprocess.run(["apt-get", "download", *PACKAGES], cwd=debs, check=True)
    shutil.rmtree(extracted, ignore_errors=True)
    for deb in sorted(debs.glob("*.deb")):
        subprocess.run(["dpkg", "-x", str(deb), str(extracted)], check=True)
    return extracted


def _packaged_jpegs(extracted: Path) -> list[Path]:
    chosen: dict[str, Path] = {}
    for path in sorted(extracted.rglob("*")):
        if path.suffix.lower() not in (".jpg", ".jpeg") or not path.is_file():
            continue
        with Image.open(path) as image:
            pixels = image.width * image.height
        if MIN_PIXELS <= pixels <= MAX_PIXELS:
            chosen.setdefault(path.name, path)
    if len(chosen) < 15:
        raise SystemExit(f"expected at least 15 JPEGs of 2-24 MP in {PACKAGES}, found {len(chosen)}")
    return sorted(chosen.values(), key=lambda p: p.name)


def _derive(originals: list[Path], photos_dir: Path, worst_dir: Path) -> None:
    by_name = {path.name: path for path in originals}
    biggest = max(originals, key=lambda p: _pixels(p))
    # EXIF-rotated copies: stored sideways, tagged so that applying the tag shows the original upright.
    for orientation, turn, name in (
        (6, Image.Transpose.ROTATE_90, "Storm.jpg"),
        (8, Image.Transpose.ROTATE_270, "rhythm.jpg"),
    ):
        source = by_name.get(name, originals[0])
        with Image.open(source) as image:
            progressive = bool(image.info.get("progressive"))
            stored = image.convert("RGB").transpose(turn)
        exif = Image.Exif()
        exif[0x0112] = orientation
        stored.save(
            photos_dir / f"rotated{orientation}-{source.name}",
            "JPEG",
            quality=92,
            progressive=progressive,
            exif=exif.tobytes(),
        )
    with Image.open(biggest) as image:
        big = image.convert("RGB")
    upscaled = _scaled_to_pixels(big, MAX_PIXELS)
    upscaled.save(photos_dir / f"upscaled24mp-{biggest.stem}.jpg", "JPEG", quality=90)
    for name in ("Garden.jpg", "firstgeneration.jpg"):
        source = by_name.get(name, originals[-1])
        with Image.open(source) as image:
            _with_alpha(image.convert("RGB")).save(photos_dir / f"alpha-{source.stem}.png", "PNG", compress_level=6)
    worst = _scaled_to_pixels(big, WORST_CASE_PIXELS)
    worst.save(worst_dir / "worst40mp-baseline.jpg", "JPEG", quality=90)
    worst.save(worst_dir / "worst40mp-progressive.jpg", "JPEG", quality=90, progressive=True)
    # A PNG of 40 MP must stay under the 25 MB upload cap: a softened photo with an alpha fade compresses enough.
    _with_alpha(worst.filter(ImageFilter.GaussianBlur(6))).save(
        worst_dir / "worst40mp-rgba.png", "PNG", compress_level=9
    )


def _scaled_to_pixels(image: Image.Image, pixels: int) -> Image.Image:
    ratio = (pixels / (image.width * image.height)) ** 0.5
    size = (int(image.width * ratio), int(image.height * ratio))
    return image.resize(size, Image.Resampling.LANCZOS)


def _with_alpha(image: Image.Image) -> Image.Image:
    """The photo with an elliptical fade to transparent towards the edges."""
    small = Image.new("L", (256, 256), 0)
    ImageDraw.Draw(small).ellipse((24, 24, 232, 232), fill=255)
    mask = small.filter(ImageFilter.GaussianBlur(28)).resize(image.size, Image.Resampling.BILINEAR)
    rgba = image.convert("RGBA")
    rgba.putalpha(mask)
    return rgba


def _pixels(path: Path) -> int:
    with Image.open(path) as image:
        return image.width * image.height


def _describe(path: Path) -> Photo:
    with Image.open(path) as image:
        orientation = int(image.getexif().get(0x0112, 1))
        derived = path.name.split("-", 1)[0] if path.name.startswith(("rotated", "upscaled", "alpha", "worst")) else ""
        return Photo(
            path=str(path),
            format=str(image.format),
            width=image.width,
            height=image.height,
            megapixels=round(image.width * image.height / 1e6, 1),
            progressive=bool(image.info.get("progressive") or image.info.get("progression")),
            orientation=orientation,
            derived=derived,
        )


if __name__ == "__main__":
    timing, worst_case = ensure_corpus()
    for photo in [*timing, *worst_case]:
        print(
            f"{photo.format:4} {photo.width:5}x{photo.height:<5} {photo.megapixels:5.1f} MP"
            f"{' progressive' if photo.progressive else ''}"
            f"{f' orientation={photo.orientation}' if photo.orientation != 1 else ''}"
            f"  {Path(photo.path).name}"
        )
    print(f"{len(timing)} timing inputs, {len(worst_case)} worst-case inputs in {CACHE}")
