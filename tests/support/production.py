"""Orders whose designs have real stored files, for the production tools' tests."""

from decimal import Decimal

from designs import services as design_services
from designs.models import Design
from orders import services
from orders.models import Order, Product
from tests.conftest import design_image, encode, upload_file

# (file name, format, size, colour, quantity) of each line
LINES = [("logo.png", "PNG", "M", "black", 3), ("wave.jpg", "JPEG", "XL", "heather grey", 2),
         ("logo.png", "PNG", "S", "white", 5)]


def stored_designs(owner, names_and_formats):
    """Upload and process one design per distinct file name, through the services: {name: Design}."""
    files, seen = [], set()
    for seed, (name, image_format) in enumerate(names_and_formats):
        if name not in seen:
            seen.add(name)
            files.append(upload_file(name, encode(design_image(seed + 40), image_format)))
    result = design_services.design_batch_upload(owner=owner, files=files)
    for item in result.accepted:
        design_services.design_process(design_id=item.design.pk)
    return {item.name: Design.objects.get(pk=item.design.pk) for item in result.accepted}


ADDRESS = {"name": "Zoë Łukasiewicz-Ünal", "line1": "Rue du Marché 12", "line2": "Bâtiment B", "city": "Genève",
           "postal_code": "1204", "region": "", "country": "CH", "phone": "+41 22 555 01 23"}


def order_in_production(owner, *, lines=LINES, name="Zoë Łukasiewicz-Ünal", product=None, address=ADDRESS):
    """An order of `lines` placed by `owner` through the service (shipped to `address`) and put in production."""
    designs = stored_designs(owner, [(line[0], line[1]) for line in lines])
    product = product or Product.objects.create(name="Classic tee", price=Decimal("12.00"), sizes="S,M,L,XL",
                                                colors="black,white,heather grey")
    order = services.order_create(email=owner.email, name=name, user=owner,
                                  shipping_address=address and {**address, "name": name}, items=[
        {"product": str(product.pk), "design": str(designs[file].pk), "size": size, "color": colour,
         "quantity": quantity} for file, _, size, colour, quantity in lines])
    # Straight to the status: how an order gets there (payment, proofs) is the lifecycle's business, not this test's.
    Order.objects.filter(pk=order.pk).update(status=Order.Status.IN_PRODUCTION)
    return Order.objects.get(pk=order.pk), designs
