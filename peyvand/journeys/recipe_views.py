"""The recipes page (`/journeys/recipes/`): every recipe as a card with its steps in words,
and "Turn on" (owner: made and published) or "Create as draft". Thin: actions.do_use_recipe
does the work and the role checks."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from peyvand.base.errors import Invalid
from peyvand.base.roles import can, require
from peyvand.base.views import ui_actor
from peyvand.journeys import actions
from peyvand.journeys.queries import flow_order
from peyvand.journeys.recipes import LANGUAGES, RECIPES, sample_definition
from peyvand.journeys.views import step_summary


def _ui_language() -> str:
    language = (get_language() or "fa")[:2]
    return language if language in LANGUAGES else "fa"


def recipe_data(language: str | None = None) -> list[dict[str, Any]]:
    """Every recipe as plain data in the active language, its steps in words (the page, the
    API and the CLI)."""
    language = language if language in LANGUAGES else _ui_language()
    out = []
    for recipe in RECIPES:
        definition = sample_definition(recipe, language)
        out.append({"id": recipe.id, "spec": recipe.spec, "name": str(recipe.name),
                    "description": str(recipe.description), "trigger": str(recipe.when),
                    "goal": str(recipe.goal) if recipe.goal else None,
                    "templates": len(recipe.templates), "segment": bool(recipe.segment),
                    "steps": [step_summary(definition["steps"][node])
                              for node in flow_order(definition)]})
    return out


@login_required
def recipe_list(request):
    actor = ui_actor(request)
    require(actor, "journeys.view")
    return render(request, "journeys/recipes.html", {
        "cards": recipe_data(), "language": _ui_language(), "languages": LANGUAGES,
        "may_edit": can(actor, "journeys.edit"),
        "may_publish": can(actor, "journeys.publish")})


@login_required
@require_POST
def recipe_use(request, recipe_id: str):
    """Make the recipe's templates, segment and journey; published when "Turn on" was
    pressed (publish=1). Then the journey page, saying what was made."""
    actor = ui_actor(request)
    require(actor, "journeys.edit")
    publish = request.POST.get("publish") == "1"
    try:
        used = actions.do_use_recipe(actor, recipe_id, request.POST.get("language", ""),
                                     publish=publish)
    except Invalid as exc:
        for reason in exc.errors.values():
            messages.error(request, reason)
        return redirect("journeys:recipes")
    links = format_html_join(
        "، " if _ui_language() == "fa" else ", ", '<a href="{}">{}</a>',
        ((reverse("messaging:template_edit", args=[t.pk]), t.name) for t in used.templates))
    done = (_("Turned on: the journey is live and starts with the next person who qualifies.")
            if publish else _("Draft created: edit its content and steps, then publish it."))
    messages.success(request, format_html("{} {} {}", done, _("Templates created (edit their "
                                                               "words here):"), links))
    if used.segment is not None:
        messages.info(request, _("Segment created: %(name)s.") % {"name": used.segment.name})
    return redirect("journeys:detail", used.journey.pk)
