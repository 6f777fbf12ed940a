"""Persian pages in Chromium after the digit fixes: the audit log and jobs in words and
Persian digits, the bundled Vazirmatn in use, the shop's logo on a public page, and the API
docs served from this server.

Screenshots: test-artifacts/screens/typography-<page>-fa.png, api-docs.png.
"""

from __future__ import annotations

import re
from pathlib import Path

import ninja
import pytest

from tests.fixtures.browser import SCREENS, chromium_missing

_missing = chromium_missing()
if _missing:
    pytest.skip(_missing, allow_module_level=True)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
LOGO = Path(ninja.__file__).parent / "static" / "ninja" / "favicon.png"


def _history():
    from peyvand.base.actor import Actor
    from peyvand.base.audit import record_audit
    from peyvand.base.models import Job
    from peyvand.base.shop import do_save_shop_profile
    from tests.fixtures.faces import one_of_everything

    world = one_of_everything(via="ui")
    system = Actor.system("test")
    record_audit(system, "orders.import", target_type="order", summary="read=1250 created=20")
    Job.objects.create(kind="orders.import", status=Job.Status.RUNNING, progress=20, total=52)
    owner = Actor(user=None, role="owner", via="ui", label="owner")
    do_save_shop_profile(owner, name="کافه پیوند", logo=LOGO.read_bytes())
    return world


def test_persian_pages_read_in_persian(page, live_server, sign_in, shot):
    _history()
    base = live_server.url
    sign_in(page, "fa", role="owner")
    page.goto(f"{base}/audit/")
    table = page.locator("table").inner_text()
    actions = page.locator("td[data-action]").all_inner_texts()
    assert actions and all(re.fullmatch(r"[^._0-9]+", a.strip()) for a in actions), actions
    assert "messaging.broadcast_created" not in table
    assert "۱۲۵۰" in table and "read=" not in table
    # The bundled font, not the machine's: Vazirmatn is loaded and used.
    assert page.evaluate("document.fonts.check('16px Vazirmatn')")
    assert page.evaluate("""[...document.fonts].some(f => f.family.includes('Vazirmatn')
                              && f.status === 'loaded')""")
    shot(page, "typography-audit-fa")
    page.goto(f"{base}/jobs/")
    jobs = page.locator("table").inner_text()
    assert "۳۸٪" in jobs and "orders.import" not in jobs
    shot(page, "typography-jobs-fa")
    page.goto(f"{base}/contacts/")
    assert "مخاطب #" in page.locator("#contact-table").inner_text()
    assert not re.search(r"[0-9]", page.locator("#contact-table tbody td:nth-child(2)")
                         .first.inner_text())
    shot(page, "typography-contacts-fa")
    page.goto(f"{base}/settings/shop/")
    assert page.locator("#current-logo").is_visible()
    shot(page, "typography-shop-fa")
    page.goto(f"{base}/consent/f/join/?lang=fa")
    assert page.locator("#shop-brand img").is_visible()
    assert "کافه پیوند" in page.locator("#shop-brand").inner_text()
    shot(page, "typography-signup-fa")


def test_api_docs_come_from_this_server(page, live_server):
    outside = []
    page.on("request", lambda r: None if r.url.startswith(live_server.url)
            else outside.append(r.url))
    page.goto(f"{live_server.url}/api/v1/docs")
    page.wait_for_selector(".swagger-ui .info .title", timeout=20000)
    assert "Peyvand API" in page.locator(".swagger-ui .info .title").inner_text()
    page.wait_for_selector(".opblock-tag", timeout=20000)
    assert page.locator(".opblock-tag").count() >= 10
    assert [u for u in outside if not u.startswith("data:")] == []
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / "api-docs.png"))  # the top: the list is very long


def test_english_audit_log_reads_in_english_words(page, live_server, sign_in, shot):
    _history()
    sign_in(page, "en", role="owner")
    page.goto(f"{live_server.url}/audit/")
    table = page.locator("table").inner_text()
    assert "Orders imported" in table and "1250 rows read, 20 created" in table
    assert "،" not in table and "messaging.broadcast_created" not in table
    shot(page, "typography-audit-en")
