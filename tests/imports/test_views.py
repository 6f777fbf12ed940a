"""The import wizard: upload -> mapping preview -> background job with progress -> result."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from peyvand.base.models import Job
from peyvand.contacts.models import Contact, CustomField

pytestmark = pytest.mark.django_db
CSV = ("نام,نام خانوادگی,موبایل,ایمیل,کد ملی,امتیاز,یادداشت\r\n"
       "علی,رضایی,۰۹۱۲۳۴۵۶۷۸۹,ali@example.com,,12,x\r\n"
       "سارا,,0912,,,,\r\n").encode("utf-8-sig")


def upload(client, content=CSV, name="contacts.csv"):
    return client.post("/imports/", {"file": SimpleUploadedFile(name, content)})


def test_wizard_from_upload_to_result(signed_in, django_capture_on_commit_callbacks):
    CustomField.objects.create(key="points", label_fa="امتیاز", label_en="Points",
                               type="number")
    client = signed_in("marketer")
    assert client.get("/imports/").status_code == 200
    response = upload(client)
    assert response.status_code == 302
    mapping_url = response["Location"]
    page = client.get(mapping_url)
    html = page.content.decode()
    assert page.status_code == 200
    # Headers were matched: each select has its guess selected, the unknown one is skipped.
    for i, target in enumerate(["first_name", "last_name", "phone", "email", "national_id",
                                "fields.points", ""]):
        select = re.search(rf'<select name="col_{i}".*?</select>', html, re.S).group(0)
        assert re.search(rf'<option value="{re.escape(target)}"[^>]*selected', select), \
            (i, target)
    assert "ali@example.com" in html  # the preview shows the first rows
    post = {f"col_{i}": t for i, t in enumerate(["first_name", "last_name", "phone", "email",
                                                 "", "fields.points", ""])}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(mapping_url, {**post, "tag": "نمایشگاه"})
    assert response.status_code == 302
    job = Job.objects.get()
    assert response["Location"] == f"/imports/{job.pk}/"
    status = client.get(f"/imports/{job.pk}/status.json").json()
    assert status["status"] == "done" and status["finished"]
    assert status["totals"] == {"read": 2, "created": 1, "updated": 0, "merged": 0,
                                "rejected": 1}
    assert status["report_url"] == f"/imports/{job.pk}/rejected.csv"
    result = client.get(f"/imports/{job.pk}/").content.decode()
    assert 'id="rejected-link"' in result and 'data-total="created">1<' in result
    report = client.get(status["report_url"])
    lines = b"".join(report.streaming_content).decode("utf-8-sig").splitlines()
    assert lines[1].startswith("3,موبایل,0912,")
    ali = Contact.objects.get()
    assert ali.tags.get().name == "نمایشگاه"
    assert ali.field_values.get().number_value == 12
    # The staged upload was used up: the mapping page is gone, the uploaded file deleted.
    assert client.get(mapping_url).status_code == 404


def test_running_job_page_polls_its_status(signed_in):
    client = signed_in("owner")
    upload_url = upload(client)["Location"]
    client.post(upload_url, {f"col_{i}": t for i, t in enumerate(
        ["first_name", "last_name", "phone", "email", "", "", ""])})
    job = Job.objects.get()  # queued: on_commit does not run inside the test transaction
    page = client.get(f"/imports/{job.pk}/").content.decode()
    assert f'data-status-url="/imports/{job.pk}/status.json"' in page
    assert "imports/progress.js" in page and "<progress" in page
    assert client.get(f"/imports/{job.pk}/status.json").json()["finished"] is False


def test_persian_page_and_refused_files(signed_in):
    client = signed_in("support", language="fa")
    response = upload(client, b"\x89PNG\x00\x00", "photo.csv")
    assert response.status_code == 200
    assert "field-error" in response.content.decode()
    response = upload(client, b"a,b\r\n1,2\r\n", "x.csv")
    page = client.get(response["Location"])
    assert page.status_code == 200 and 'lang="fa"' in page.content.decode()
    response = client.post(response["Location"], {"col_0": "first_name", "col_1": ""})
    assert response.status_code == 200
    assert 'id="mapping-error"' in response.content.decode()
    assert not Job.objects.exists()


@pytest.mark.parametrize("role", ["reviewer", "analyst"])
def test_roles_without_contacts_edit_cannot_import(signed_in, role):
    client = signed_in(role)
    assert client.get("/imports/").status_code == 403
    assert upload(client).status_code == 403
    assert not Job.objects.exists() and not Contact.objects.exists()


def test_uploads_and_jobs_of_others_are_hidden(signed_in, make_user):
    mine = signed_in("marketer")
    mapping_url = upload(mine)["Location"]
    other = Client()
    other.force_login(make_user("other", "support"))
    assert other.get(mapping_url).status_code == 404
    mine.post(mapping_url, {f"col_{i}": t for i, t in enumerate(
        ["first_name", "", "phone", "email", "", "", ""])})
    job = Job.objects.get()
    for url in (f"/imports/{job.pk}/", f"/imports/{job.pk}/status.json",
                f"/imports/{job.pk}/rejected.csv"):
        assert other.get(url).status_code == 404
    assert Client().get(f"/imports/{job.pk}/").status_code == 302  # to sign in
