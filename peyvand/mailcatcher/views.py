"""The "Caught mail" pages: what the catcher received, for signed-in staff."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render

from peyvand.base.roles import require
from peyvand.base.views import paginate, ui_actor
from peyvand.mailcatcher.models import CaughtMail, CaughtSms


@login_required
def mail_list(request):
    require(ui_actor(request), "contacts.view")
    show = "sms" if request.GET.get("show") == "sms" else "mail"
    items = CaughtSms.objects.all() if show == "sms" else CaughtMail.objects.defer("raw")
    return render(request, "mailcatcher/list.html", {
        "page": paginate(request, items, 50), "show": show})


@login_required
def mail_detail(request, pk: int):
    require(ui_actor(request), "contacts.view")
    mail = get_object_or_404(CaughtMail, pk=pk)
    text, html = mail.bodies()
    message = mail.message()
    headers = [(name, str(message.get(name, ""))) for name in
               ("From", "To", "Subject", "Date", "List-Unsubscribe", "List-Unsubscribe-Post")
               if message.get(name)]
    return render(request, "mailcatcher/detail.html", {
        "mail": mail, "text": text, "html": html, "headers": headers})


@login_required
def mail_raw(request, pk: int):
    require(ui_actor(request), "contacts.view")
    mail = get_object_or_404(CaughtMail, pk=pk)
    response = HttpResponse(bytes(mail.raw), content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="mail-{mail.pk}.eml"'
    return response
