from __future__ import annotations

import datetime as dt
import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render, resolve_url
from django.utils import timezone, translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from peyvand.accounts.actions import (
    do_change_role,
    do_create_token,
    do_create_user,
    do_revoke_token,
    do_set_active,
    do_set_language,
)
from peyvand.accounts.forms import (
    CodeForm,
    RoleForm,
    ThrottledAuthenticationForm,
    TokenForm,
    UserCreateForm,
)
from peyvand.accounts.queries import access_token, visible_tokens
from peyvand.accounts.twofactor import (
    confirmed_device,
    do_confirm_two_factor,
    do_disable_two_factor,
    do_reset_two_factor,
    has_two_factor,
    is_required,
    pending_device,
    qr_svg,
    secret_text,
    verify_code,
    wait_seconds,
)
from peyvand.base.roles import can, require
from peyvand.base.templatetags.peyvand_ui import fadigits, isolate_text
from peyvand.base.views import paginate, ui_actor

User = get_user_model()


PENDING_KEY = "peyvand_2fa_pending"


class LoginView(auth_views.LoginView):
    """The password first; a user with an authenticator is signed in only after its code
    (login_verify). Until then the session holds who is waiting, not a signed-in user."""

    authentication_form = ThrottledAuthenticationForm
    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form):
        user = form.get_user()
        if has_two_factor(user):
            self.request.session[PENDING_KEY] = {
                "user": user.pk, "backend": user.backend, "at": int(time.time()),
                "next": self.get_success_url()}
            return redirect("accounts:login_verify")
        return super().form_valid(form)


def _pending_user(request):
    """Who is between password and code: the signed-in user of a session not yet verified,
    or the one the password step left in the session (for a few minutes)."""
    if request.user.is_authenticated:
        return request.user, None
    pending = request.session.get(PENDING_KEY)
    if not isinstance(pending, dict):
        return None, None
    if time.time() - pending.get("at", 0) > settings.TWO_FACTOR_PENDING_SECONDS:
        request.session.pop(PENDING_KEY, None)
        return None, None
    user_id = pending.get("user")
    if not isinstance(user_id, int):
        return None, None
    user = User.objects.filter(pk=user_id, is_active=True).first()
    return user, pending


def login_verify(request):
    """The second step of sign-in: the code from the authenticator app."""
    user, pending = _pending_user(request)
    device = confirmed_device(user)
    if user is None or device is None:
        if request.user.is_authenticated:
            return redirect(settings.LOGIN_REDIRECT_URL)
        messages.error(request, _("Sign in again: the time for the code ran out."))
        return redirect("accounts:login")
    if request.user.is_authenticated and request.user.is_verified():
        return redirect(settings.LOGIN_REDIRECT_URL)
    # Who is signing in is known by now: the page speaks their language.
    language = getattr(getattr(user, "profile", None), "language", "")
    if language in dict(settings.LANGUAGES):
        translation.activate(language)
        request.LANGUAGE_CODE = language
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        wait = wait_seconds(device)  # wrong codes pause the next try (django-otp)
        if wait:
            form.add_error("code", ngettext(
                "Too many wrong codes: wait %(seconds)s second, then type the code the app "
                "shows.", "Too many wrong codes: wait %(seconds)s seconds, then type the code "
                "the app shows.", wait) % {"seconds": fadigits(wait)})
        elif verify_code(device, form.cleaned_data["code"]):
            target = (pending or {}).get("next") or request.GET.get("next") or ""
            if pending is not None:
                auth_login(request, user, backend=pending["backend"])
            otp_login(request, device)
            request.session.pop(PENDING_KEY, None)
            if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                   require_https=request.is_secure()):
                target = resolve_url(settings.LOGIN_REDIRECT_URL)
            return redirect(target)
        else:
            form.add_error("code", _("That code is not right."))
    response = render(request, "registration/login_verify.html",
                      {"form": form, "username": user.get_username()})
    response["Content-Language"] = translation.get_language()
    return response


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
    with_2fa = set(TOTPDevice.objects.filter(confirmed=True).values_list("user_id", flat=True))
    return render(request, "accounts/users.html", {"users": users, "role_form": RoleForm(),
                                                   "with_2fa": with_2fa})


@login_required
@require_POST
def user_two_factor_reset(request, pk: int):
    actor = ui_actor(request)
    require(actor, "users.manage")
    user = get_object_or_404(User, pk=pk)
    if do_reset_two_factor(actor, user):
        messages.success(request, _("Two-factor sign-in of %(name)s was reset; they set it up "
                                    "again at their next sign-in.")
                         % {"name": isolate_text(user.username)})
    return redirect("accounts:users")


# --- API tokens -------------------------------------------------------------------------------

@login_required
def token_list(request):
    """Your API tokens (everyone's for an owner): make one, see when each was last used,
    revoke. A new key is shown once, on the answer to the form, never stored."""
    actor = ui_actor(request)
    form = TokenForm(request.POST or None)
    new_key = None
    if request.method == "POST" and form.is_valid():
        days = form.cleaned_data["expires"]
        expires = timezone.now() + dt.timedelta(days=int(days)) if days else None
        new_key = do_create_token(actor, request.user, form.cleaned_data["name"],
                                  expires_at=expires)
        form = TokenForm()
    tokens = paginate(request, visible_tokens(actor), per_page=50)
    response = render(request, "accounts/tokens.html", {
        "form": form, "new_key": new_key, "tokens": tokens,
        "everyone": can(actor, "users.manage")})
    if new_key:
        response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def token_revoke(request, pk: int):
    actor = ui_actor(request)
    token = access_token(actor, pk)
    if do_revoke_token(actor, token):
        messages.success(request, _("Token “%(name)s” (%(prefix)s…) was revoked; programs "
                                    "using it are refused from now on.")
                         % {"name": isolate_text(token.name or "-"), "prefix": token.prefix})
    return redirect("accounts:tokens")


# --- two-factor sign-in -----------------------------------------------------------------------

@login_required
def two_factor(request):
    """Your two-factor sign-in: set up an authenticator app (QR code or the secret typed),
    or turn it off."""
    actor = ui_actor(request)
    device = confirmed_device(request.user)
    form = CodeForm(request.POST or None)
    action = request.POST.get("action")
    if request.method == "POST" and form.is_valid():
        try:
            if action == "confirm" and device is None:
                device = do_confirm_two_factor(actor, request.user, form.cleaned_data["code"])
                otp_login(request, device)
                messages.success(request, _("Two-factor sign-in is on. From now on you sign in "
                                            "with your password and a code from the app."))
                return redirect("accounts:two_factor")
            if action == "disable" and device is not None:
                do_disable_two_factor(actor, request.user, form.cleaned_data["code"])
                messages.success(request, _("Two-factor sign-in is off."))
                return redirect("accounts:two_factor")
        except ValidationError as exc:
            form.add_error("code", exc)
    context = {"form": form, "enabled": device is not None,
               "required": is_required(request.user)}
    if device is None:
        setup = pending_device(request.user)
        context.update(qr=mark_safe(qr_svg(setup)), secret=secret_text(setup))
    return render(request, "accounts/two_factor.html", context)


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
