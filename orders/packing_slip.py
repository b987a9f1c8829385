"""The packing slip / job ticket of an order as a PDF (reportlab): address, lines with thumbnails, a QR code."""

import functools
import io
import logging
from pathlib import Path
from xml.sax.saxutils import escape

import reportlab
from django.core.files.storage import default_storage
from django_countries import countries
from PIL import Image as PILImage
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from designs.models import thumbnail_key
from orders.models import OrderItem

logger = logging.getLogger(__name__)

# DejaVu covers Latin, Greek, Cyrillic, Arabic and Hebrew names (Debian: fonts-dejavu-core); reportlab's bundled
# Vera, the fallback, covers Latin-1 only.
FONT_FOLDERS = ["/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu", "/usr/share/fonts/TTF",
                "/usr/local/share/fonts", "/Library/Fonts"]
THUMB_MM = 22


@functools.cache
def slip_fonts():
    """(regular, bold) names of the registered fonts: DejaVu Sans if found, else reportlab's Vera."""
    for folder in FONT_FOLDERS:
        regular, bold = Path(folder, "DejaVuSans.ttf"), Path(folder, "DejaVuSans-Bold.ttf")
        if regular.is_file() and bold.is_file():
            pdfmetrics.registerFont(TTFont("SlipSans", str(regular)))
            pdfmetrics.registerFont(TTFont("SlipSans-Bold", str(bold)))
            return "SlipSans", "SlipSans-Bold"
    logger.warning("DejaVu Sans not found in %s: packing slips use Vera (Latin-1 only)", FONT_FOLDERS)
    bundled = Path(reportlab.__file__).parent / "fonts"
    pdfmetrics.registerFont(TTFont("SlipVera", str(bundled / "Vera.ttf")))
    pdfmetrics.registerFont(TTFont("SlipVera-Bold", str(bundled / "VeraBd.ttf")))
    return "SlipVera", "SlipVera-Bold"


def slip_address_lines(order):
    """The address block: the shipping address as ordered, then the contact e-mail; the order's name alone while the
    order has no address yet."""
    address = order.shipping_address or {}
    if not address:
        return [order.name, order.email]
    town = " ".join(part for part in (address.get("postal_code"), address.get("city")) if part)
    country = countries.name(address.get("country") or "") or address.get("country")
    lines = [address.get("name"), address.get("line1"), address.get("line2"), town, address.get("region"), country,
             address.get("phone"), order.email]
    return [line for line in lines if line]


def slip_items(order_id):
    """The order's lines with what the slip prints: one query."""
    return list(OrderItem.objects.filter(order_id=order_id).select_related("product", "design")
                .only("order_id", "size", "color", "quantity", "product__name", "design__title", "design__sha256",
                      "design__has_thumbnail").order_by("id"))


def _thumbnail(design):
    if not design.has_thumbnail:
        return ""
    try:
        with default_storage.open(thumbnail_key(design.sha256, 256), "rb") as handle:
            picture = PILImage.open(io.BytesIO(handle.read()))
            picture.load()
    except Exception:  # a missing thumbnail must not stop the slip
        logger.warning("no thumbnail for %s on a packing slip", design.sha256, exc_info=True)
        return ""
    png = io.BytesIO()
    picture.convert("RGBA").save(png, "PNG")
    png.seek(0)
    scale = THUMB_MM * mm / max(picture.size)
    return Image(png, width=picture.width * scale, height=picture.height * scale)


def _qr_code(text, size=32 * mm):
    widget = QrCodeWidget(text)
    left, bottom, right, top = widget.getBounds()
    drawing = Drawing(size, size, transform=[size / (right - left), 0, 0, size / (top - bottom), 0, 0])
    drawing.add(widget)
    return drawing


def packing_slip_pdf(order, items):
    """The slip as PDF bytes (a few pages at most: small enough to build in memory)."""
    regular, bold = slip_fonts()
    text = ParagraphStyle("slip", fontName=regular, fontSize=10, leading=13)
    heading = ParagraphStyle("slip-heading", parent=text, fontName=bold, fontSize=18, leading=22)
    cell = ParagraphStyle("slip-cell", parent=text, fontSize=9, leading=11)

    def para(value, style=text):
        return Paragraph(escape(str(value)), style)

    address = [para(line) for line in slip_address_lines(order) if line]
    head = Table([[[para(f"Order {order.display_number}", heading), Spacer(1, 3 * mm),
                    para(f"Placed {order.created_at:%Y-%m-%d}"), Spacer(1, 4 * mm),
                    para("Ship to", ParagraphStyle("label", parent=text, fontName=bold)), *address],
                   _qr_code(order.display_number)]], colWidths=[130 * mm, 40 * mm])
    head.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("ALIGN", (1, 0), (1, 0), "RIGHT")]))

    rows = [[para(label, ParagraphStyle("th", parent=cell, fontName=bold))
             for label in ("#", "", "Product", "Design", "Size", "Colour", "Qty")]]
    for line, item in enumerate(items, start=1):
        rows.append([para(line, cell), _thumbnail(item.design), para(item.product.name, cell),
                     para(item.design.title, cell), para(item.size, cell), para(item.color, cell),
                     para(item.quantity, cell)])
    rows.append(["", "", "", "", "", para("Total", cell), para(sum(item.quantity for item in items), cell)])
    lines = Table(rows, colWidths=[8 * mm, (THUMB_MM + 3) * mm, 45 * mm, 45 * mm, 15 * mm, 20 * mm, 12 * mm],
                  repeatRows=1)
    lines.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LINEBELOW", (0, 0), (-1, -2), 0.5, colors.lightgrey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
    ]))

    buffer = io.BytesIO()
    document = SimpleDocTemplate(buffer, pagesize=A4, title=f"Packing slip {order.display_number}",
                                 leftMargin=18 * mm, rightMargin=18 * mm, topMargin=16 * mm, bottomMargin=16 * mm)
    document.build([head, Spacer(1, 8 * mm), lines])
    return buffer.getvalue()
