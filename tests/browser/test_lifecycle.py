"""The whole story of an order, walked in Chromium by a customer and a staff member, with real workers sending
real mail to an SMTP sink: sign up, upload, order with an address, pay by bank transfer, proof, approval,
production, shipping, tracking. Any console error or unexpected 4xx/5xx fails it."""

import re
import zipfile

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from designs.models import Design
from mockups.models import Mockup
from orders.carriers import carriers_install
from orders.models import Order
from orders.payments import rf_reference
from tests.browser.checkout import fill_address, review_and_place
from tests.browser.conftest import artwork_png
from tests.conftest import wait_for
from tests.mockups.conftest import make_template
from tests.orders.conftest import SmtpSink, free_port

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ORDER_URL = re.compile(r"/orders/([0-9a-f-]{36})/$")
WORKER_TIMEOUT_S = 60  # worker start-up plus processing and rendering, on a loaded 2-CPU machine


@pytest.fixture
def smtp():
    sink = SmtpSink(free_port()).start()
    yield sink
    sink.stop()


def watch(page, problems):
    """Every console error and every 4xx/5xx answer on `page` goes to `problems`."""
    page.on("console", lambda message: problems.append(f"console on {page.url}: {message.text}")
            if message.type == "error" else None)
    page.on("response", lambda response: problems.append(f"{response.status} for {response.url}")
            if response.status >= 400 else None)
    return page


def mail_with(smtp, subject, timeout=WORKER_TIMEOUT_S):
    """The one message with `subject`, waited for; a second copy fails the test at the end."""
    return wait_for(lambda: [m for m in smtp.messages if m["Subject"] == subject], timeout=timeout,
                    message=f"the mail {subject!r}")[0]


def text_of(message):
    return message.get_body(preferencelist=("plain",)).get_content()


def test_an_order_from_sign_up_to_the_tracking_link(new_page, log_in, staff_user, products, qcluster, smtp,
                                                    live_server, screenshot, tmp_path, settings):
    settings.SITE_URL = live_server.url  # mail links must lead back to this server
    carriers_install()  # flushed by the browser tests before this one
    make_template(name="Classic tee (white)")
    qcluster(workers=2, env={"EMAIL_URL": f"smtp://127.0.0.1:{smtp.port}", "LOG_LEVEL": "WARNING"})
    problems = []

    # The customer signs up, uploads artwork from the order form and orders two white tees with an address.
    customer = watch(new_page(), problems)
    customer.goto("/accounts/signup/")
    customer.get_by_label("Username").fill("carol")
    customer.get_by_label("Email").fill("carol@example.com")
    customer.get_by_label("Password", exact=True).fill("a-long-Passphrase-9")
    customer.get_by_label("Password confirmation").fill("a-long-Passphrase-9")
    customer.get_by_role("button", name="Sign up").click()
    expect(customer).to_have_url(re.compile(r"/designs/$"))

    customer.goto("/orders/new/")
    artwork = tmp_path / "lighthouse.png"
    artwork.write_bytes(artwork_png(11))
    customer.set_input_files("#quick-upload", artwork)
    expect(customer.locator("#quick-upload-status")).to_have_text("Uploaded and selected.")
    customer.get_by_role("button", name="Add item").click()
    row = customer.locator("#items tbody tr")
    row.get_by_label("Product").select_option(str(products["tee"].pk))
    row.get_by_label("Size").select_option("M")
    row.get_by_label("Colour").select_option("white")
    row.get_by_label("Quantity").fill("2")
    fill_address(customer)
    review = review_and_place(customer)
    expect(review).to_be_hidden()
    expect(customer).to_have_url(ORDER_URL)
    order = Order.objects.get(pk=ORDER_URL.search(customer.url).group(1))
    reference = rf_reference(order.number)
    expect(customer.locator("#payment-reference")).to_have_text(reference)
    expect(customer.locator("#payment")).to_contain_text("$25.00")
    screenshot(customer, "lifecycle-placed")
    confirmation = mail_with(smtp, f"We received your order {order.display_number}")
    assert reference in text_of(confirmation) and confirmation["To"] == "carol@example.com"

    # Staff record the bank transfer on the admin order page.
    staff = watch(log_in(new_page(), "staff", "staff-password-1"), problems)
    change_url = f"/admin/orders/order/{order.pk}/change/"
    staff.goto(change_url)
    workflow = staff.locator("#order-workflow")
    expect(workflow).to_contain_text(reference)
    expect(staff.locator("#record-payment").get_by_label("Amount")).to_have_value("25.00")
    staff.locator("#record-payment").get_by_label("Note").fill("Bank statement 3 Dec")
    staff.get_by_role("button", name="Record payment").click()
    expect(staff.locator(".messagelist")).to_contain_text("Payment recorded; the order is paid.")
    expect(staff.locator("#workflow-payment")).to_have_text("Paid")
    mail_with(smtp, f"Payment received for your order {order.display_number}")

    # Once the workers processed the artwork, staff send the proof; its mockup is rendered on the white tee.
    wait_for(lambda: Design.objects.filter(owner__username="carol", has_thumbnail=True).exists(),
             timeout=WORKER_TIMEOUT_S, message="the design to be processed")
    staff.get_by_role("button", name="Send proof").click()
    expect(staff.locator("#workflow-status")).to_have_text("Proofing")
    wait_for(lambda: Mockup.objects.filter(status="ready").exists(), timeout=WORKER_TIMEOUT_S,
             message="the proof's mockup")
    proof = mail_with(smtp, f"Your proof for order {order.display_number} is ready to approve")

    # The customer follows the mail's link, sees the mockup and approves.
    link = f"{live_server.url}/orders/{order.pk}/"
    assert link in text_of(proof)
    customer.goto(link)
    image = customer.locator("#proof .proof-lines img")
    expect(image).to_have_count(1)
    customer.wait_for_function("image => image.complete && image.naturalWidth > 0", arg=image.element_handle())
    expect(customer.locator("#proof")).to_contain_text("2 × Classic tee, M, white")
    screenshot(customer, "lifecycle-proof")
    customer.get_by_role("button", name="Approve proof").click()
    expect(customer.locator(".messages")).to_contain_text("the proof is approved")
    expect(customer.locator("#proof-approved")).to_contain_text("Approved by carol")

    # Staff start production, then ship with a tracking number.
    staff.goto(change_url)
    expect(staff.locator("#order-workflow")).to_contain_text("approved by carol")
    staff.get_by_role("button", name="Start production").click()
    expect(staff.locator("#workflow-status")).to_have_text("In production")
    mail_with(smtp, f"Your order {order.display_number} is in production")

    # Staff download the print files and the packing slip from the order page.
    with staff.expect_download() as download:
        staff.get_by_role("link", name="Print files (zip)").click()
    print_files = zipfile.ZipFile(download.value.path())
    assert print_files.namelist() == [f"{order.display_number}-1-M-white.png"]
    assert print_files.read(print_files.namelist()[0]) == artwork.read_bytes()
    with staff.expect_download() as download:
        staff.get_by_role("link", name="Packing slip (PDF)").click()
    slip = PdfReader(download.value.path()).pages[0].extract_text().splitlines()
    assert order.display_number in " ".join(slip) and "1 High Street" in slip and "N1 9GU London" in slip

    staff.get_by_label("Carrier").select_option(label="UPS")
    staff.get_by_label("Tracking number").fill("1Z999AA10123456784")
    staff.get_by_role("button", name="Mark shipped").click()
    expect(staff.locator("#workflow-status")).to_have_text("Shipped")
    screenshot(staff, "lifecycle-admin-shipped")
    shipped = mail_with(smtp, f"Your order {order.display_number} is on its way")
    tracking = "https://www.ups.com/track?tracknum=1Z999AA10123456784"
    assert tracking in text_of(shipped)

    # The customer sees the tracking link on their order page.
    customer.goto(f"/orders/{order.pk}/")
    expect(customer.locator("#order-status")).to_have_text("Shipped")
    expect(customer.locator("#tracking-link")).to_have_attribute("href", tracking)
    screenshot(customer, "lifecycle-shipped")

    # Every step mailed once, and every mail's link opens the order for its customer.
    subjects = smtp.subjects()
    assert all(count == 1 for count in subjects.values()) and len(subjects) == 5, subjects
    for message in smtp.messages:
        assert link in text_of(message), message["Subject"]
        response = customer.goto(link)
        assert response.ok
    assert problems == []
