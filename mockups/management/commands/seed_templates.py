"""Demo garment templates: a t-shirt, a hoodie and a tote bag drawn with Pillow. Idempotent."""

import io

from django.core.files.base import ContentFile
from django.core.management.base import BaseCommand

from mockups import services
from mockups.demo_garments import demo_garments
from mockups.models import GarmentTemplate


class Command(BaseCommand):
    help = "Create the three demo garment templates (t-shirt, hoodie, tote bag) unless they exist. Idempotent."

    def handle(self, *args, **options):
        existing = set(GarmentTemplate.objects.values_list("name", flat=True))
        for garment in demo_garments():
            if garment.name in existing:
                self.stdout.write(f"exists: {garment.name}")
                continue
            buffer = io.BytesIO()
            garment.draw().save(buffer, "JPEG", quality=90)
            area = garment.area
            services.template_create(
                name=garment.name, photo_file=ContentFile(buffer.getvalue(), name="garment.jpg"),
                area_x=area.x, area_y=area.y, area_width=area.width, area_height=area.height, shading=True,
            )
            self.stdout.write(f"created: {garment.name}")
