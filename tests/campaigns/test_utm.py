"""UTM parameters on a campaign's shop links (issue 17, item 5), frozen with its words."""

from __future__ import annotations

from peyvand.campaigns import actions
from peyvand.campaigns.utm import campaign_slug, with_utm
from peyvand.campaigns.words import words_digest
from peyvand.contacts.models import Tag

TAGGED = "utm_source=peyvand&amp;utm_medium=email&amp;utm_campaign=autumn"


def test_links_are_tagged_and_what_a_merge_field_completes_is_left_alone():
    html = ('<a href="https://shop.example/tea?x=1&amp;y=2">tea</a>'
            '<img src="https://cdn.example/a.png">'
            '<a href="https://shop.example/p?u={{ email }}">me</a>'
            '<a href="{{ unsubscribe_url }}">leave</a>'
            '<a href="https://shop.example/?utm_source=news">own</a>')
    out = with_utm(html, medium="email", campaign="autumn", html=True)
    assert f'href="https://shop.example/tea?x=1&amp;y=2&amp;{TAGGED}"' in out
    assert 'src="https://cdn.example/a.png"' in out  # an image is not a visit
    assert 'href="https://shop.example/p?u={{ email }}"' in out
    assert 'href="{{ unsubscribe_url }}"' in out
    assert 'href="https://shop.example/?utm_source=news"' in out
    text = with_utm("چای تازه: https://shop.example/tea. (https://shop.example/x)",
                    medium="sms", campaign="yalda")
    assert text == ("چای تازه: https://shop.example/tea?utm_source=peyvand&utm_medium=sms"
                    "&utm_campaign=yalda. (https://shop.example/x?utm_source=peyvand"
                    "&utm_medium=sms&utm_campaign=yalda)")


def test_a_persian_name_gets_a_numbered_slug():
    assert campaign_slug("Autumn win-back", 3) == "autumn-win-back"
    assert campaign_slug("یلدا", 7) == "campaign-7"


def test_the_frozen_words_carry_the_tags_the_reviewer_approved(make_contact, template,
                                                               actor_for):
    owner = actor_for("owner")
    make_contact(tags=["vip"])
    template("autumn", html='<p><a href="https://shop.example/tea">Tea</a></p>',
             text="Tea: https://shop.example/tea")
    campaign = actions.do_save_campaign(owner, {
        "name": "Autumn", "audience": {"tags": [Tag.objects.get(name="vip").pk]},
        "template": "autumn"})
    actions.do_submit(owner, campaign)
    campaign = actions.do_approve(owner, campaign, words_digest(campaign))
    snapshot = campaign.variants.get().snapshot
    assert f'href="https://shop.example/tea?{TAGGED}"' in snapshot.html
    assert snapshot.text == ("Tea: https://shop.example/tea?utm_source=peyvand"
                             "&utm_medium=email&utm_campaign=autumn")
    assert snapshot.template.html == '<p><a href="https://shop.example/tea">Tea</a></p>'
