"""The order import wizard: upload -> the plan of the file (columns, ignored columns, how dates
read, where the currency comes from) with the questions the file leaves open -> a background
job whose page shows the totals and the plan."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from peyvand.base.models import Job
from peyvand.commerce.models import Order
from peyvand.imports.jobs import ORDERS_KIND, run_order_import_job
from peyvand.imports.queries import job_status

pytestmark = pytest.mark.django_db

# Jalali dates, no currency column, one column nothing reads ("یادداشت").
JALALI = ("شماره سفارش,تاریخ,ایمیل,کالا,تعداد,قیمت واحد,یادداشت\r\n"
          "A-1,۱۴۰۳/۰۲/۱۲,ali@example.com,چای,2,180000,هدیه\r\n"
          "A-1,۱۴۰۳/۰۲/۱۲,ali@example.com,استکان,1,240000,\r\n"
          "A-2,,sara@example.com,چای,1,180000,\r\n").encode("utf-8-sig")
# A currency column, Gregorian dates.
WITH_CURRENCY = (b"order id,date,email,product,quantity,price,currency\r\n"
                 b"B-1,2024-06-01,bob@example.com,Tea,1,12.5,USD\r\n")
# No date column at all.
UNDATED = (b"order id,email,product,price,currency\r\n"
           b"C-1,cy@example.com,Tea,10,EUR\r\n")


def upload(client, content=JALALI, name="orders.csv"):
    response = client.post("/imports/orders/", {"file": SimpleUploadedFile(name, content)})
    assert response.status_code == 302, response.content.decode()[:2000]
    return response["Location"]


def test_the_preview_shows_the_plan_and_asks_for_the_currency(signed_in):
    client = signed_in("marketer")
    page = client.get("/imports/orders/")
    assert page.status_code == 200 and 'id="upload-form"' in page.content.decode()
    url = upload(client)
    assert url.startswith("/imports/orders/") and url != "/imports/orders/"
    html = client.get(url).content.decode()
    # What each column is read into, and the one nothing reads.
    assert "Order ID" in html and "Unit price" in html
    ignored = html.split('id="plan-ignored">')[1].split("</dd>")[0]
    assert "یادداشت" in ignored and "ایمیل" not in ignored
    # How the dates read, with an example.
    dates = html.split('id="plan-dates">')[1].split("</dd>")[0]
    assert "Jalali" in dates and "۱۴۰۳/۰۲/۱۲" in dates and "2024-05-01" in dates
    # The currency is asked, nothing chosen for the user.
    currency = html.split('id="plan-currency">')[1].split("</dd>")[0]
    assert "no currency column" in currency
    select = html.split('name="currency"')[1].split("</select>")[0]
    assert 'value="IRT"' in select and "selected" not in select.replace(
        '<option value="" selected>', "")
    # Dates are refused without a date unless chosen: the box is off, its help says so.
    assert 'name="placed_at_now"' in html and "checked" not in html.split(
        'name="placed_at_now"')[1].split(">")[0]
    assert "an order without a date is refused" in html
    assert "Header names the import recognises" in html and "شماره سفارش" in html


def test_a_file_without_currency_is_refused_until_one_is_chosen(signed_in):
    client = signed_in("marketer")
    url = upload(client)
    for action in ("import", "preview"):
        response = client.post(url, {"calendar": "auto", "action": action})
        assert response.status_code == 200
        html = response.content.decode()
        assert "Choose the currency: the file has no currency column." in html
    assert not Job.objects.exists()
    # A free code that is not one is refused too; a real one is shown in the plan.
    html = client.post(url, {"currency": "other", "currency_other": "T0",
                             "calendar": "auto", "action": "preview"}).content.decode()
    assert "is not a currency code" in html
    html = client.post(url, {"currency": "IRT", "calendar": "auto",
                             "action": "preview"}).content.decode()
    assert "every order in IRT" in html
    assert not Job.objects.exists()


def test_without_a_date_column_the_box_is_required(signed_in):
    client = signed_in("owner")
    url = upload(client, UNDATED)
    html = client.get(url).content.decode()
    assert "the file has no date column" in html
    assert "the import needs this ticked" in html
    html = client.post(url, {"calendar": "auto", "action": "import"}).content.decode()
    assert "The file has no date column: tick this" in html
    assert not Job.objects.exists()


def test_the_job_imports_rejects_an_undated_order_and_shows_the_plan(
        signed_in, api_for, django_capture_on_commit_callbacks):
    client = signed_in("marketer")
    url = upload(client)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"currency": "IRT", "calendar": "auto",
                                     "action": "import"})
    assert response.status_code == 302
    job = Job.objects.get()
    assert job.kind == ORDERS_KIND and response["Location"] == f"/imports/{job.pk}/"
    assert job.params["currency"] == "IRT" and job.params["calendar"] == "auto"
    assert job.params["placed_at_now"] is False and job.params["filename"] == "orders.csv"
    status = client.get(f"/imports/{job.pk}/status.json").json()
    assert status["status"] == "done", status
    assert status["totals"] == {"read": 3, "created": 1, "updated": 0, "merged": 1,
                                "rejected": 1}
    page = client.get(f"/imports/{job.pk}/").content.decode()
    assert 'data-total="created">1<' in page and "New orders" in page
    notes = page.split('id="import-notes">')[1].split("</ul>")[0]
    assert "ignored: یادداشت" in notes
    assert "currency: every order in IRT" in notes and "--currency" not in notes
    assert "dates read as Jalali: ۱۴۰۳/۰۲/۱۲ → 2024-05-01" in notes
    # The API says the same of the job as its page (the owner may see every import).
    api = api_for("owner").get(f"/api/v1/imports/{job.pk}").json()
    assert api["kind"] == "orders.import" and api["totals"] == status["totals"]
    assert "dates read as Jalali: ۱۴۰۳/۰۲/۱۲ → 2024-05-01" in api["notes"]
    with translation.override("fa"):  # a Persian page writes the date read in its digits
        fa_notes = job_status(Job.objects.get()).get("notes")
    assert any("۲۰۲۴-۰۵-۰۱" in n and "2024" not in n for n in fa_notes), fa_notes
    # The undated order is in the report with the reason.
    report = client.get(status["report_url"])
    path = Job.objects.get().params["path"]
    assert path and report.status_code == 200
    lines = b"".join(report.streaming_content).decode("utf-8-sig").splitlines()
    assert lines[1].startswith('4,placed_at,,"The order has no date; fill it in, or import '
                               'again choosing “Date orders without a date now”')
    assert Order.objects.get(external_id="A-1").lines.count() == 2
    assert not Order.objects.filter(external_id="A-2").exists()
    # The upload is used up; both kinds are listed among the recent imports.
    assert client.get(url).status_code == 404
    assert f'href="/imports/{job.pk}/"' in client.get("/imports/").content.decode()
    assert f'href="/imports/{job.pk}/"' in client.get("/imports/orders/").content.decode()


def test_ticking_the_box_dates_undated_orders_now(signed_in, django_capture_on_commit_callbacks):
    client = signed_in("owner")
    url = upload(client)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"currency": "IRT", "calendar": "jalali", "placed_at_now": "on",
                          "action": "import"})
    job = Job.objects.get()
    assert job.params["placed_at_now"] is True and job.params["calendar"] == "jalali"
    assert job.result["totals"]["rejected"] == 0 and job.result["totals"]["created"] == 2
    assert Order.objects.filter(external_id="A-2").exists()
    page = client.get(f"/imports/{job.pk}/").content.decode()
    assert "orders without a date: dated now" in page


def test_a_currency_column_needs_no_choice(signed_in, django_capture_on_commit_callbacks):
    client = signed_in("owner")
    url = upload(client, WITH_CURRENCY)
    html = client.get(url).content.decode()
    assert "no currency column" not in html and "“currency”" in html
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"calendar": "auto", "action": "import"})
    assert response.status_code == 302
    assert Order.objects.get(external_id="B-1").currency == "USD"
    page = client.get(response["Location"]).content.decode()
    assert 'id="import-notes"' in page and "2024-06-01" in page


def test_a_file_without_order_ids_says_so(signed_in):
    client = signed_in("owner")
    url = upload(client, b"email,product\r\na@example.com,Tea\r\n")
    html = client.get(url).content.decode()
    assert 'id="orders-error"' in html and "No column holds the order ID" in html
    assert 'id="orders-form"' not in html


def test_a_failed_job_says_why(signed_in, django_capture_on_commit_callbacks):
    client = signed_in("owner")
    url = upload(client)
    with django_capture_on_commit_callbacks(execute=False):  # queued, not run
        client.post(url, {"currency": "IRT", "calendar": "auto", "action": "import"})
    job = Job.objects.get()
    job.params = {**job.params, "currency": ""}  # as if the options were lost
    job.save(update_fields=["params"])
    run_order_import_job(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and "currency" in job.error
    page = client.get(f"/imports/{job.pk}/").content.decode()
    assert 'id="import-error"' in page


@pytest.mark.parametrize("role", ["support", "analyst", "reviewer"])
def test_roles_without_commerce_edit_are_refused(signed_in, role):
    client = signed_in(role)
    assert client.get("/imports/orders/").status_code == 403
    assert client.get("/imports/orders/some-token/").status_code == 403


def test_order_imports_are_hidden_from_roles_that_may_not_start_them(
        signed_in, django_capture_on_commit_callbacks):
    owner = signed_in("owner")
    url = upload(owner)
    with django_capture_on_commit_callbacks(execute=True):
        owner.post(url, {"currency": "IRT", "calendar": "auto", "action": "import"})
    job = Job.objects.get()
    support = signed_in("support")  # contacts.edit without commerce.edit
    assert support.get(f"/imports/{job.pk}/").status_code == 404
    assert support.get(f"/imports/{job.pk}/status.json").status_code == 404
    assert support.get(f"/imports/{job.pk}/rejected.csv").status_code == 404
