from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from peyvand.accounts.throttle import clear_failures, is_throttled, record_failure
from peyvand.base.http import client_ip
from peyvand.base.roles import ROLE_CHOICES
from peyvand.base.templatetags.peyvand_ui import fadigits


class ThrottledAuthenticationForm(AuthenticationForm):
    """Sign-in that refuses, even with the right password, after too many failures."""

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        ip = (client_ip(self.request) or "") if self.request else ""
        if is_throttled(username, ip):
            minutes = max(1, settings.LOGIN_THROTTLE_WINDOW // 60)
            raise ValidationError(
                _("Too many failed sign-in attempts. Sign-in is paused for up to %(minutes)s "
                  "min.; try again later.") % {"minutes": fadigits(minutes)},
                code="throttled")
        try:
            cleaned = super().clean()
        except ValidationError:
            record_failure(username, ip)
            raise
        clear_failures(username, ip)
        return cleaned


class UserCreateForm(forms.Form):
    username = forms.CharField(label=_("User name"), max_length=150)
    password = forms.CharField(label=_("Password"), strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    role = forms.ChoiceField(label=_("Role"), choices=ROLE_CHOICES)
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)

    def clean_password(self):
        # Checked here too so the reason shows next to the password field.
        password = self.cleaned_data["password"]
        validate_password(password)
        return password


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=ROLE_CHOICES)


TOKEN_LIFETIMES = [("30", _("30 days")), ("90", _("90 days")), ("365", _("1 year")),
                   ("", _("Never (until revoked)"))]


class TokenForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100,
                           help_text=_("What the token is for, e.g. “shop sync”."))
    expires = forms.ChoiceField(label=_("Expires after"), choices=TOKEN_LIFETIMES, initial="90",
                                required=False)


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code from the app"), max_length=16, strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric",
                                      "autofocus": True, "dir": "ltr", "size": 8}))
