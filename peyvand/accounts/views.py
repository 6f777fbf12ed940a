from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from peyvand.accounts.actions import do_change_role, do_create_user, do_set_active, do_set_language
from peyvand.accounts.forms import RoleForm, ThrottledAuthenticationForm, UserCreateForm
from peyvand.accounts.roles import require
from peyvand.base.templatetags.peyvand_ui import isolate_text
from peyvand.base.views import ui_actor

User = get_user_model()


class LoginView(auth_views.LoginView):
    authentication_form = ThrottledAuthenticationForm
    template_name = "registration/login.html"
    redirect_authenticated_user = True


def _back(request, fallback: str = "/") -> str:
    target = request.POST.get("next") or request.META.get("HTTP_REFERER") or fallback
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                       require_https=request.is_secure()):
        return target
    return fallback


@require_POST
def set_language(request):
    """Save the chosen language on the profile (signed in) and in a cookie (sign-in page)."""
    language = request.POST.get("language", "")
    response = redirect(_back(request))
    if language not in dict(settings.LANGUAGES):
        return response
    if request.user.is_authenticated:
        do_set_language(request.user, language)
    response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language, max_age=365 * 24 * 3600,
                        samesite="Lax", httponly=True,
                        secure=settings.SESSION_COOKIE_SECURE or request.is_secure())
    return response


@login_required
def user_list(request):
    require(ui_actor(request), "users.manage")
    users = User.objects.select_related("profile").order_by("username")
    return render(request, "accounts/users.html", {"users": users, "role_form": RoleForm()})


@login_required
def user_create(request):
    actor = ui_actor(request)
    require(actor, "users.manage")
    form = UserCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = do_create_user(actor, data["username"], role=data["role"],
                                  password=data["password"], language=data["language"])
        except ValidationError as exc:
            # Role and language come from fixed choices; what is left is about the name.
            form.add_error("username", exc)
        else:
            messages.success(request, _("User “%(name)s” created.")
                             % {"name": isolate_text(user.username)})
            return redirect("accounts:users")
    return render(request, "accounts/user_form.html", {"form": form})


@login_required
@require_POST
def user_role(request, pk: int):
    actor = ui_actor(request)
    require(actor, "users.manage")
    user = get_object_or_404(User.objects.select_related("profile"), pk=pk)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a role."))
        return redirect("accounts:users")
    try:
        do_change_role(actor, user, form.cleaned_data["role"])
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("%(name)s’s role was changed.")
                         % {"name": isolate_text(user.username)})
    return redirect("accounts:users")


@login_required
@require_POST
def user_active(request, pk: int):
    actor = ui_actor(request)
    require(actor, "users.manage")
    user = get_object_or_404(User.objects.select_related("profile"), pk=pk)
    active = request.POST.get("active") == "1"
    try:
        do_set_active(actor, user, active)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        text = _("%(name)s can sign in again.") if active else \
            _("%(name)s was deactivated and can no longer sign in.")
        messages.success(request, text % {"name": isolate_text(user.username)})
    return redirect("accounts:users")
