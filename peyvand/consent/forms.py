"""Staff forms: they shape input into the raw dicts consent.actions validate, and put the
actions' errors back beside their fields."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from peyvand.consent.actions import PAUSE_WEEKS, STAFF_ACTIONS, default_consent_text
from peyvand.consent.models import (
    Channel,
    Format,
    Frequency,
    IdentityRule,
    IncentiveKind,
    SignupForm,
    Topic,
)
from peyvand.contacts.forms import DomainErrorsForm
from peyvand.contacts.models import CustomField

LTR = {"dir": "ltr"}


class TopicForm(DomainErrorsForm):
    name_fa = forms.CharField(label=_("Name (Persian)"), required=False)
    name_en = forms.CharField(label=_("Name (English)"), required=False)
    key = forms.CharField(label=_("Key"), required=False, widget=forms.TextInput(attrs=LTR),
                          help_text=_("Latin letters, digits, - and _; messages name the topic "
                                      "by it."))
    description = forms.CharField(label=_("Description"), required=False,
                                  widget=forms.Textarea(attrs={"rows": 2}))
    default_frequency = forms.ChoiceField(label=_("Default frequency"),
                                          choices=Frequency.choices, initial=Frequency.MONTHLY)
    default_opt_in = forms.BooleanField(label=_("Ticked by default on sign-up forms"),
                                        required=False)
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    @classmethod
    def initial_for(cls, topic: Topic) -> dict:
        return {name: getattr(topic, name) for name in cls.base_fields}


class SignupFormForm(DomainErrorsForm):
    name = forms.CharField(label=_("Name"), required=False,
                           help_text=_("For you; visitors see the title."))
    slug = forms.CharField(label=_("Address name"), required=False,
                           widget=forms.TextInput(attrs=LTR),
                           help_text=_("The page is /consent/f/<address name>/."))
    title_fa = forms.CharField(label=_("Title (Persian)"), required=False)
    title_en = forms.CharField(label=_("Title (English)"), required=False)
    identity = forms.ChoiceField(label=_("Required contact detail"), choices=IdentityRule.choices)
    ask_first_name = forms.BooleanField(label=_("Ask for the first name"), required=False)
    ask_last_name = forms.BooleanField(label=_("Ask for the last name"), required=False)
    custom_fields = forms.MultipleChoiceField(label=_("Custom fields asked (optional to fill)"),
                                              required=False,
                                              widget=forms.CheckboxSelectMultiple)
    topics = forms.MultipleChoiceField(label=_("Topics offered"), required=False,
                                       widget=forms.CheckboxSelectMultiple)
    channels = forms.MultipleChoiceField(label=_("Channels offered"), required=False,
                                         choices=Channel.choices,
                                         widget=forms.CheckboxSelectMultiple)
    incentive_kind = forms.ChoiceField(label=_("Incentive"), choices=IncentiveKind.choices)
    incentive_fa = forms.CharField(
        label=_("Incentive text (Persian)"), required=False,
        # xgettext:no-python-format
        help_text=_("e.g. a 10% discount code on your first order"))
    incentive_en = forms.CharField(label=_("Incentive text (English)"), required=False)
    consent_text_fa = forms.CharField(label=_("Consent text (Persian)"), required=False,
                                      widget=forms.Textarea(attrs={"rows": 3}))
    consent_text_en = forms.CharField(label=_("Consent text (English)"), required=False,
                                      widget=forms.Textarea(attrs={"rows": 3, "dir": "ltr"}),
                                      help_text=_("Changing a text makes a new version; the "
                                                  "versions people agreed to are kept."))
    active = forms.BooleanField(label=_("Accepting sign-ups"), required=False, initial=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        topics = self.fields["topics"]
        fields = self.fields["custom_fields"]
        assert isinstance(topics, forms.MultipleChoiceField)
        assert isinstance(fields, forms.MultipleChoiceField)
        topics.choices = [(t.key, f"{t.name_fa} · {t.name_en}")
                                         for t in Topic.objects.filter(active=True)]
        fields.choices = [(f.key, f"{f.label_fa} · {f.label_en}")
                                                for f in CustomField.objects.all()]

    @staticmethod
    def initial_for(form: SignupForm | None) -> dict:
        if form is None:
            return {"identity": IdentityRule.EMAIL, "channels": [Channel.EMAIL],
                    "topics": list(Topic.objects.filter(active=True, default_opt_in=True)
                                   .values_list("key", flat=True)),
                    "incentive_kind": IncentiveKind.NONE, "active": True,
                    "consent_text_fa": default_consent_text("fa"),
                    "consent_text_en": default_consent_text("en")}
        initial = {name: getattr(form, name) for name in (
            "name", "slug", "title_fa", "title_en", "identity", "ask_first_name",
            "ask_last_name", "channels", "incentive_kind", "incentive_fa", "incentive_en",
            "active")}
        initial["topics"] = list(form.topics.values_list("key", flat=True))
        initial["custom_fields"] = list(form.custom_fields.values_list("key", flat=True))
        for language in ("fa", "en"):
            text = form.current_text(language)
            initial[f"consent_text_{language}"] = text.text if text else ""
        return initial


STAFF_ACTION_LABELS = {
    "opt_out": _("Unsubscribe"),
    "pause": _("Pause"),
    "preference_change": _("Less often / other format"),
}


class StaffChangeForm(DomainErrorsForm):
    """What a staff member may record for a person: always toward less contact."""

    action = forms.ChoiceField(label=_("Change"),
                               choices=[(a, STAFF_ACTION_LABELS[a]) for a in STAFF_ACTIONS])
    channel = forms.ChoiceField(label=_("Message channel"), choices=Channel.choices)
    topic = forms.ChoiceField(label=_("Topic"), required=False)
    weeks = forms.ChoiceField(label=_("Pause for"), required=False)
    frequency = forms.ChoiceField(label=_("Frequency"), required=False,
                                  choices=[("", "—"), *Frequency.choices])
    format = forms.ChoiceField(label=_("Format"), required=False,
                               choices=[("", "—"), *Format.choices])
    note = forms.CharField(label=_("Note"), required=False,
                           help_text=_("e.g. asked by phone on 1403/02/12"))

    def __init__(self, *args, language: str = "fa", **kwargs):
        super().__init__(*args, **kwargs)
        topic, weeks = self.fields["topic"], self.fields["weeks"]
        assert isinstance(topic, forms.ChoiceField) and isinstance(weeks, forms.ChoiceField)
        topic.choices = [("", _("All topics"))] + [(t.key, t.name(language))
                                                   for t in Topic.objects.all()]
        weeks.choices = [("", "—")] + [(str(w), weeks_label(w)) for w in PAUSE_WEEKS]


def weeks_label(weeks: int) -> str:
    from django.utils.translation import gettext

    from peyvand.base.templatetags.peyvand_ui import fadigits

    return gettext("%(count)s weeks") % {"count": fadigits(weeks)}
