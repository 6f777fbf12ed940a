"""UTM parameters on a campaign's links, so the shop's own analytics see where a visit came
from: utm_source=peyvand, utm_medium=email|sms, utm_campaign=<the campaign's slug>.

Added to the words when they are frozen (and to what the reviewer approves), to every literal
web link of the HTML, the plain text and the SMS text. A link that already carries a utm_
parameter is left as its author wrote it, and so is one a merge field completes
(`https://shop.example/?u={{ email }}`): changing it could break what the field writes.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.utils.text import slugify

_URL = re.compile(r"https?://[^\s<>\"'{}]+", re.IGNORECASE)
_HREF = re.compile(r"(\bhref\s*=\s*[\"'])([^\"']*)([\"'])", re.IGNORECASE)
# A sentence's full stop or closing bracket is not part of a link in plain text.
_TRAILING = ".,;:!?)]»"


def campaign_slug(name: str, number: int) -> str:
    return slugify(name) or f"campaign-{number}"


def tag(url: str, *, medium: str, campaign: str) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    if any(key.lower().startswith("utm_") for key, _value in query):
        return url
    query += [("utm_source", "peyvand"), ("utm_medium", medium), ("utm_campaign", campaign)]
    return urlunsplit(parts._replace(query=urlencode(query)))


def with_utm(text: str, *, medium: str, campaign: str, html: bool = False) -> str:
    """Every literal web link of `text` tagged: in HTML, the href of each link (images and
    other sources are not visits); in plain text or an SMS, every URL."""
    if html:
        return _HREF.sub(lambda m: m.group(1) + _tagged_all(m.group(2), medium, campaign,
                                                             escaped=True) + m.group(3), text)
    return _tagged_all(text, medium, campaign, escaped=False)


def _tagged_all(text: str, medium: str, campaign: str, *, escaped: bool) -> str:
    def one(match: re.Match) -> str:
        url = match.group(0)
        if text[match.end():match.end() + 1] == "{":  # completed by a merge field
            return url
        kept = ""
        while url and url[-1] in _TRAILING:
            url, kept = url[:-1], url[-1] + kept
        # In HTML an ampersand in an attribute is written &amp;: read and write it so.
        raw = url.replace("&amp;", "&") if escaped else url
        tagged = tag(raw, medium=medium, campaign=campaign)
        return (tagged.replace("&", "&amp;") if escaped else tagged) + kept

    return _URL.sub(one, text)
