"""Fixtures for mockups: a small garment template and real processed designs (with their stored thumbnails)."""

import io

import pytest
from django.core.files.base import ContentFile
from PIL import Image, ImageDraw

from designs import services as design_services
from mockups import services
from tests.conftest import design_image, encode, upload_file

PHOTO_SIZE = (300, 360)
AREA = (60, 80, 180, 200)  # x, y, width, height


def garment_photo(size=PHOTO_SIZE, fabric=(200, 200, 200)):
    """A flat grey garment photo with a dark fold running down the left third of the print area."""
    photo = Image.new("RGB", size, fabric)
    ImageDraw.Draw(photo).rectangle((90, 0, 110, size[1]), fill=(70, 70, 70))
    return photo


def photo_file(image=None, fmt="PNG"):
    buffer = io.BytesIO()
    (image or garment_photo()).save(buffer, fmt)
    return ContentFile(buffer.getvalue(), name=f"garment.{fmt.lower()}")


def make_template(name="Tee", area=AREA, shading=True, image=None):
    x, y, width, height = area
    return services.template_create(name=name, photo_file=photo_file(image), area_x=x, area_y=y, area_width=width,
                                    area_height=height, shading=shading)


@pytest.fixture
def template(db):
    return make_template()


def processed_design(owner, seed=1, size=(640, 480)):
    """A design uploaded and processed the way a worker would, with its thumbnails in storage."""
    result = design_services.design_batch_upload(
        owner=owner, files=[upload_file(f"art-{seed}.png", encode(design_image(seed, size=size), "PNG"))]
    )
    design = result.accepted[0].design
    design_services.design_process(design_id=design.pk)
    design.refresh_from_db()
    assert design.has_thumbnail
    return design


@pytest.fixture
def design(user):
    return processed_design(user)
