from django import template

from imaging.compositing import fitted_size
from mockups.models import (
    MOCKUP_PREVIEW_SIDE,
    TEMPLATE_PREVIEW_SIDE,
    GarmentTemplate,
    Mockup,
    mockup_image_url,
    mockup_preview_url,
    mockup_status_url,
    template_preview_url,
)

register = template.Library()


@register.simple_tag(takes_context=True)
def mockup_panel(context, design):
    """What the design page's mockup panel shows, in two queries whatever the numbers: the active templates and
    the design's mockups, each with its URLs and image size worked out here (no storage call)."""
    templates = list(GarmentTemplate.objects.for_picker())
    for garment in templates:
        garment.preview_url = template_preview_url(garment)
        garment.preview_width, garment.preview_height = fitted_size(garment.photo_width, garment.photo_height,
                                                                    TEMPLATE_PREVIEW_SIDE)
    # Another customer's mockups only for staff who may view mockups; the design page itself needs view_design.
    mockups = list(Mockup.objects.visible_to(context["request"].user).for_design_panel(design))
    for mockup in mockups:
        mockup.status_url = mockup_status_url(mockup)
        mockup.image_url = mockup_image_url(mockup)
        mockup.preview_url = mockup_preview_url(mockup)
        if mockup.image_url:
            mockup.preview_width, mockup.preview_height = fitted_size(mockup.image_width, mockup.image_height,
                                                                      MOCKUP_PREVIEW_SIDE)
    return {"templates": templates, "mockups": mockups}
