"""The click map marks each link of the message with who clicked it (issue 17, item 5)."""

from __future__ import annotations

from peyvand.campaigns.clickmap import click_map, link_key

HTML = ('<p><a href="https://shop.example/tea?x=1&amp;utm_source=peyvand&amp;utm_medium=email">'
        'Tea</a> <a href="https://shop.example/cups?utm_campaign=a">Cups</a> '
        '<a href="{{ unsubscribe_url }}">leave</a></p>')


def test_each_clicked_link_gets_its_people_and_share():
    links = [{"url": "https://shop.example/tea?x=1&utm_source=peyvand&utm_medium=email",
              "clicks": 9, "unique": 3},
             {"url": "https://shop.example/cups?utm_campaign=a", "clicks": 1, "unique": 1}]
    found = click_map(HTML, links, "en")
    assert found["marked"] == 2 and found["clickers"] == 4
    assert 'data-clicks="3"' in found["html"] and ">3 · 75%</span>Tea</a>" in found["html"]
    assert ">1 · 25%</span>Cups</a>" in found["html"]
    assert '<a href="{{ unsubscribe_url }}">leave</a>' in found["html"]  # nobody: no badge
    persian = click_map(HTML, links, "fa")["html"]
    assert ">۳ · ۷۵٪</span>Tea" in persian


def test_links_match_without_their_utm_parameters():
    assert link_key("https://shop.example/tea?x=1&amp;utm_source=peyvand") == \
        link_key("https://shop.example/tea?utm_medium=sms&x=1") == "https://shop.example/tea?x=1"
