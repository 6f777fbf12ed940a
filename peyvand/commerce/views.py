"""Web pages for orders, products and shop sources, and the WooCommerce webhook receiver."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from peyvand.base.normalise import InvalidValue
from peyvand.base.roles import require
from peyvand.base.site import public_url
from peyvand.base.views import paginate, ui_actor
from peyvand.commerce import woocommerce
from peyvand.commerce.actions import (
    CommerceInvalid,
    do_create_source,
    do_save_money_settings,
    do_set_source_active,
    money_settings,
    retry_delivery,
)
from peyvand.commerce.forms import SourceForm
from peyvand.commerce.models import MoneySettings, Order, ShopSource, WebhookDelivery
from peyvand.commerce.queries import (
    access_order,
    access_source,
    search_orders,
    search_products,
    sources_with_counts,
)

PER_PAGE = 25
RECENT = 20  # deliveries of every shop on the shops page, failures included


# --- orders and products ------------------------------------------------------------------

@login_required
def order_list(request):
    actor = ui_actor(request)
    status = request.GET.get("status", "")
    if status not in Order.Status.values:
        status = ""
    contact = request.GET.get("contact", "")
    page = paginate(request, search_orders(actor, contact=contact if contact.isdigit() else None,
                                           status=status), PER_PAGE)
    return render(request, "commerce/order_list.html", {
        "page": page, "status": status, "statuses": Order.Status.choices,
        "contact": contact if contact.isdigit() else "",
    })


@login_required
def order_detail(request, pk: int):
    order = access_order(ui_actor(request), pk)
    return render(request, "commerce/order_detail.html", {
        "order": order,
        "lines": order.lines.select_related("product"),
        "refunds": order.refunds.all(),
        "net": order.total - order.refunded,
    })


@login_required
def product_list(request):
    q = request.GET.get("q", "").strip()
    page = paginate(request, search_products(ui_actor(request), q=q), PER_PAGE)
    return render(request, "commerce/product_list.html", {"page": page, "q": q})


# --- money settings -----------------------------------------------------------------------

@login_required
def money_settings_view(request):
    """The shop's display unit: rial amounts in toman or rial, on every page."""
    actor = ui_actor(request)
    require(actor, "shop.settings")
    row = money_settings()
    error = ""
    if request.method == "POST":
        try:
            do_save_money_settings(actor, request.POST.get("display_unit", ""))
        except CommerceInvalid as exc:
            error = exc.errors.get("display_unit", "")
        else:
            messages.success(request, _("Money settings saved."))
            return redirect("commerce:money_settings")
    return render(request, "commerce/money_settings.html", {
        "row": row, "units": MoneySettings.Unit.choices, "error": error,
        "example": 12_500_000})


# --- shop sources -------------------------------------------------------------------------

@login_required
def source_list(request):
    actor = ui_actor(request)
    require(actor, "sources.manage")
    form = SourceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            source = do_create_source(actor, "woocommerce", form.cleaned_data["name"],
                                      form.cleaned_data["currency"])
        except CommerceInvalid as exc:
            for name, message in exc.errors.items():
                form.add_error(name if name in form.fields else None, message)
        except InvalidValue as exc:
            form.add_error("currency", str(exc.message))
        else:
            messages.success(request, _("Shop “%(name)s” added. Copy its webhook address and "
                                        "secret into WooCommerce.") % {"name": source.name})
            return redirect("commerce:source_detail", source.pk)
    recent = WebhookDelivery.objects.select_related("source").defer("payload")[:RECENT]
    return render(request, "commerce/source_list.html", {
        "sources": sources_with_counts(actor), "form": form, "recent": recent,
    })


@login_required
def source_detail(request, pk: int):
    actor = ui_actor(request)
    source = access_source(actor, pk)
    status = request.GET.get("status", "")
    deliveries = source.deliveries.defer("payload")
    if status in WebhookDelivery.Status.values:
        deliveries = deliveries.filter(status=status)
    else:
        status = ""
    return render(request, "commerce/source_detail.html", {
        "source": source,
        "webhook_url": public_url() + source.webhook_path(),
        "page": paginate(request, deliveries, PER_PAGE),
        "status": status,
        "statuses": WebhookDelivery.Status.choices,
        "topics": "order.created, order.updated, order.deleted, order.restored, "
                  "customer.created, customer.updated, customer.deleted, product.created, "
                  "product.updated, product.deleted",
    })


@login_required
@require_POST
def source_active(request, pk: int):
    actor = ui_actor(request)
    source = access_source(actor, pk)
    do_set_source_active(actor, source, request.POST.get("active") == "1")
    return redirect("commerce:source_detail", source.pk)


def _delivery(request, pk: int) -> WebhookDelivery:
    require(ui_actor(request), "sources.manage")
    return get_object_or_404(WebhookDelivery.objects.select_related("source"), pk=pk)


@login_required
def delivery_detail(request, pk: int):
    delivery = _delivery(request, pk)
    try:
        payload = json.dumps(json.loads(delivery.payload), ensure_ascii=False, indent=2)
    except ValueError:
        payload = delivery.payload
    return render(request, "commerce/delivery_detail.html", {
        "delivery": delivery, "payload": payload,
        "can_retry": delivery.status != WebhookDelivery.Status.PROCESSED,
    })


@login_required
@require_POST
def delivery_retry(request, pk: int):
    delivery = _delivery(request, pk)
    if retry_delivery(ui_actor(request), delivery):
        messages.success(request, _("Delivery #%(id)s was queued to be processed again.")
                         % {"id": delivery.pk})
    else:
        messages.info(request, _("Delivery #%(id)s was processed already.") % {"id": delivery.pk})
    back = request.POST.get("next", "")
    if back == "delivery":
        return redirect("commerce:delivery_detail", delivery.pk)
    if back == "sources":
        return redirect("commerce:source_list")
    return redirect("commerce:source_detail", delivery.source_id)


# --- WooCommerce webhook receiver ---------------------------------------------------------

@csrf_exempt
@require_POST
def woocommerce_hook(request, token: str):
    """Verify the signature, store the delivery, answer at once; the work happens in a task."""
    source = ShopSource.objects.filter(token=token, active=True,
                                       kind=ShopSource.Kind.WOOCOMMERCE).first()
    if source is None:
        raise Http404
    body = request.body
    if woocommerce.is_ping(body):
        return JsonResponse({"status": "ping"})
    if not woocommerce.verify(source, body, request.headers.get(woocommerce.SIGNATURE_HEADER,
                                                                "")):
        return JsonResponse({"status": "error", "detail": "invalid signature"}, status=401)
    received = woocommerce.receive(source, body, request.headers)
    return JsonResponse({"status": received.status, "delivery": received.delivery.pk})
