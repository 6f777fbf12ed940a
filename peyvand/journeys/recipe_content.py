# Over 400 lines: data only, the recipes' messages written out in Persian and English.
"""The words of the journey recipes' templates (recipes.py), in both languages: data, not
gettext, because each becomes a template the owner edits in the one language chosen.

Each entry: `channel`, the template's `name` per language, and per language the `subject`
and `blocks` of an e-mail (messaging/blocks.py) or the `text` of an SMS. Merge fields are
the template engine's (`first_name`, `preferences_url`, the cross-sell block's
`recommendations`, the coupon block's `coupon_code`); the sender adds the unsubscribe
footer to marketing e-mail and «لغو ۱۱» to marketing SMS. Persian text holds no Latin
digits (the tests check it).
"""

from __future__ import annotations

from typing import Any

# Greetings that read well when the first name is missing.
FA_DEAR = '{{ first_name or "دوست" }} عزیز'
EN_HI = 'Hi {{ first_name or "there" }}'


def _mail(name_fa: str, name_en: str, fa: tuple[str, list[dict[str, Any]]],
          en: tuple[str, list[dict[str, Any]]]) -> dict[str, Any]:
    return {"channel": "email", "name": {"fa": name_fa, "en": name_en},
            "fa": {"subject": fa[0], "blocks": fa[1]}, "en": {"subject": en[0], "blocks": en[1]}}


def _h(text: str) -> dict[str, Any]:
    return {"type": "heading", "text": text, "level": 2}


def _t(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


def _cross(title: str, limit: int = 3) -> dict[str, Any]:
    return {"type": "cross_sell", "limit": limit, "title": title}


CONTENT: dict[str, dict[str, Any]] = {
    # G1: three messages over ten days.
    "welcome_1": _mail(
        "خوش‌آمد ۱: سلام و خوش آمدید", "Welcome 1: hello and welcome",
        (f"{FA_DEAR}، به جمع ما خوش آمدید", [
            _h(f"{FA_DEAR}، خوش آمدید"),
            _t("از اینکه عضو خبرنامهٔ ما شدید بسیار خوشحالیم. از این پس گاه‌به‌گاه تازه‌ها، "
               "پیشنهادهای ویژه و نکته‌هایی را که به کارتان می‌آید برایتان می‌فرستیم؛ نه "
               "بیشتر از آنچه حوصله‌اش را داشته باشید."),
            _t("اگر سؤالی دارید، کافی است به همین ایمیل پاسخ دهید. پاسخ‌ها را خودمان "
               "می‌خوانیم."),
            _t("با احترام،\nهمراهان شما در فروشگاه")]),
        ("Welcome aboard, {{ first_name or \"friend\" }}", [
            _h(f"{EN_HI}, welcome!"),
            _t("We're really glad you joined us. From now on we'll send you news, special "
               "offers and the odd useful tip now and then, never more than you'd want."),
            _t("If you have a question, just reply to this e-mail: a real person reads every "
               "answer."),
            _t("Warm regards,\nThe team")])),
    "welcome_2": _mail(
        "خوش‌آمد ۲: آشنایی بیشتر", "Welcome 2: getting to know us",
        ("چند چیز که شاید دربارهٔ ما ندانید", [
            _h("کمی بیشتر با ما آشنا شوید"),
            _t(f"{FA_DEAR}، چند روز از آشنایی‌مان می‌گذرد و دوست داشتیم کمی بیشتر از خودمان "
               "بگوییم: ما کالاهایمان را با دقت انتخاب می‌کنیم، پیش از ارسال بررسی‌شان می‌کنیم "
               "و تا وقتی از خریدتان راضی نباشید کنارتان هستیم."),
            _t("اگر دوست دارید پیام‌هایی را که برایتان می‌فرستیم تنظیم کنید، از پیوند زیر "
               "استفاده کنید."),
            {"type": "button", "label": "تنظیم پیام‌هایی که دریافت می‌کنم",
             "href": "{{ preferences_url }}"}]),
        ("A few things you may not know about us", [
            _h("Get to know us a little better"),
            _t(f"{EN_HI}, it's been a few days since you joined, so here's a little more "
               "about us: we choose what we sell with care, check every order before it "
               "leaves, and stay with you until you're happy with what you bought."),
            _t("You can choose which messages you get from us at any time:"),
            {"type": "button", "label": "Choose what I receive",
             "href": "{{ preferences_url }}"}])),
    "welcome_3": _mail(
        "خوش‌آمد ۳: پیشنهاد آشنایی", "Welcome 3: a first suggestion",
        (f"{FA_DEAR}، این‌ها را برای شروع پیشنهاد می‌کنیم", [
            _h("برای شروع، از این‌ها شروع کنید"),
            _t("ده روز است که با ما همراهید؛ ممنونیم. پرطرفدارترین کالاهای ما را می‌توانید "
               "در فروشگاه ببینید و اگر در انتخاب مردد بودید، کافی است به همین ایمیل پاسخ "
               "دهید تا راهنمایی‌تان کنیم."),
            _t("منتظر دیدارتان هستیم.")]),
        ("Where to start, {{ first_name or \"friend\" }}", [
            _h("A good place to start"),
            _t("You've been with us for ten days now, thank you. Our most loved products "
               "are waiting in the shop, and if you can't decide, just reply to this e-mail "
               "and we'll happily help you choose."),
            _t("We hope to see you soon.")])),
    # G2: thank-you with cross-sell, then how it went once the order has arrived.
    "first_order_thanks": _mail(
        "پس از نخستین خرید: سپاس", "After the first order: thank you",
        (f"{FA_DEAR}، از نخستین خریدتان سپاسگزاریم", [
            _h("ممنون که ما را انتخاب کردید"),
            _t(f"{FA_DEAR}، نخستین سفارش شما به دستمان رسید و با دقت آماده‌اش می‌کنیم. "
               "امیدواریم از آن لذت ببرید."),
            _cross("کسانی که همین را خریده‌اند، این‌ها را هم پسندیده‌اند:"),
            _t("هر پرسشی دربارهٔ سفارشتان داشتید، به همین ایمیل پاسخ دهید.")]),
        ("Thank you for your first order", [
            _h("Thank you for choosing us"),
            _t(f"{EN_HI}, your first order has reached us and we're preparing it with care. "
               "We hope you'll love it."),
            _cross("People who bought the same also liked:"),
            _t("Any question about your order? Just reply to this e-mail.")])),
    "first_order_feedback": _mail(
        "پس از نخستین خرید: نظر شما", "After the first order: how did it go?",
        ("از خریدتان راضی بودید؟", [
            _h("نظر شما برای ما ارزشمند است"),
            _t(f"{FA_DEAR}، امیدواریم سفارشتان سالم و به‌موقع رسیده باشد. از خریدتان راضی "
               "بودید؟"),
            _t("کافی است در یک جمله به همین ایمیل پاسخ دهید: چه چیزی را پسندیدید و چه چیزی "
               "را بهتر کنیم. اگر مشکلی پیش آمده، بگویید تا همین حالا پیگیری کنیم."),
            _t("سپاس از وقتی که می‌گذارید.")]),
        ("Are you happy with your order?", [
            _h("We'd love your opinion"),
            _t(f"{EN_HI}, we hope your order arrived safely and on time. Are you happy with "
               "it?"),
            _t("Just reply to this e-mail in a sentence: what you liked, and what we could do "
               "better. If anything went wrong, tell us and we'll put it right straight away."),
            _t("Thank you for your time.")])),
    # G3: abandoned cart.
    "cart_1": _mail(
        "سبد خرید رهاشده ۱", "Abandoned cart 1",
        ("سبد خریدتان هنوز منتظر شماست", [
            _h("چیزی را جا نگذاشتید؟"),
            _t(f"{FA_DEAR}، دیدیم چند کالا را در سبد خریدتان گذاشته‌اید اما خرید تمام نشد. "
               "سبدتان را برایتان نگه داشته‌ایم؛ هر وقت فرصت کردید، از فروشگاه ادامه دهید."),
            _t("اگر در پرداخت یا انتخاب به مشکلی برخوردید، به همین ایمیل پاسخ دهید تا "
               "کمکتان کنیم.")]),
        ("Your cart is still waiting for you", [
            _h("Did you leave something behind?"),
            _t(f"{EN_HI}, you left a few things in your cart without finishing your order. "
               "We've kept it for you: carry on in the shop whenever you're ready."),
            _t("Ran into trouble paying or choosing? Reply to this e-mail and we'll help.")])),
    "cart_2": _mail(
        "سبد خرید رهاشده ۲", "Abandoned cart 2",
        ("یادآوری دوستانه: سبد خریدتان", [
            _h("سبد شما هنوز اینجاست"),
            _t(f"{FA_DEAR}، فقط خواستیم یادآوری کنیم که کالاهای سبدتان هنوز منتظر شمایند. "
               "موجودی بعضی کالاها محدود است؛ اگر هنوز آن‌ها را می‌خواهید، بهتر است زودتر "
               "خریدتان را کامل کنید."),
            _t("اگر منصرف شده‌اید، اشکالی ندارد؛ دیگر در این باره پیامی نمی‌فرستیم.")]),
        ("A friendly reminder about your cart", [
            _h("Your cart is still here"),
            _t(f"{EN_HI}, just a quick reminder that the things in your cart are still "
               "waiting. Some are in short supply, so if you still want them it's best not "
               "to wait too long."),
            _t("Changed your mind? No problem: this is the last we'll say about it.")])),
    # G4: a nudge at each customer's own purchase cycle.
    "repeat_1": _mail(
        "یادآوری خرید دوباره ۱", "Repeat purchase nudge 1",
        ("وقت تازه کردن خریدتان است؟", [
            _h("شاید وقتش رسیده باشد"),
            _t(f"{FA_DEAR}، با توجه به خریدهای قبلی‌تان، احتمالاً این روزها به تهیهٔ دوباره "
               "فکر می‌کنید. خواستیم زودتر یادآوری کنیم تا چیزی کم نیاید."),
            _cross("شاید این‌ها را هم بخواهید امتحان کنید:"),
            _t("هر سؤالی داشتید، به همین ایمیل پاسخ دهید.")]),
        ("Time to stock up again?", [
            _h("It might be that time again"),
            _t(f"{EN_HI}, going by your past orders you may be thinking about a refill "
               "around now, so here's a gentle reminder before you run out."),
            _cross("You might also like to try:"),
            _t("Any questions? Just reply to this e-mail.")])),
    "repeat_2": _mail(
        "یادآوری خرید دوباره ۲", "Repeat purchase nudge 2",
        (f"{FA_DEAR}، چیزی لازم ندارید؟", [
            _h("هنوز در خدمتیم"),
            _t("هفتهٔ پیش یادآوری کردیم که شاید وقت خرید دوباره رسیده باشد. اگر هنوز نیازی "
               "دارید، فروشگاه منتظر شماست؛ اگر نه، همین پیام آخر بود تا نوبت بعد."),
            _cross("پیشنهادهای ما برای شما:")]),
        ("Anything you need, {{ first_name or \"friend\" }}?", [
            _h("Still here to help"),
            _t("Last week we mentioned it might be time to order again. If you still need "
               "anything the shop is ready for you; if not, this is our last note until "
               "next time."),
            _cross("Our suggestions for you:")])),
    # G5: win-back when P(alive) drops.
    "win_back_1": _mail(
        "بازگشت مشتری ۱", "Win-back 1",
        (f"{FA_DEAR}، دلمان برایتان تنگ شده", [
            _h("مدتی است از شما بی‌خبریم"),
            _t(f"{FA_DEAR}، مدتی است به ما سر نزده‌اید و جای شما خالی است. در این مدت "
               "کالاهای تازه‌ای آورده‌ایم که فکر می‌کنیم به سلیقه‌تان نزدیک است."),
            _cross("پیشنهادهایی بر اساس خریدهای قبلی شما:"),
            _t("اگر چیزی باعث شده از ما دور شوید، خوشحال می‌شویم بدانیم؛ کافی است به همین "
               "ایمیل پاسخ دهید.")]),
        ("We miss you, {{ first_name or \"friend\" }}", [
            _h("It's been a while"),
            _t(f"{EN_HI}, we haven't seen you for a while and we've missed you. We've added "
               "new things since that we think you'll like."),
            _cross("Picked for you from what you bought before:"),
            _t("If something put you off, we'd really like to know: just reply to this "
               "e-mail.")])),
    "win_back_2": _mail(
        "بازگشت مشتری ۲", "Win-back 2",
        ("هنوز هم منتظرتان هستیم", [
            _h("یک بار دیگر به ما سر بزنید"),
            _t(f"{FA_DEAR}، می‌دانیم سرتان شلوغ است. فقط خواستیم بگوییم هنوز هم منتظرتان "
               "هستیم و هر وقت برگردید، با همان دقت همیشگی سفارشتان را آماده می‌کنیم."),
            _t("اگر دیگر نمی‌خواهید از ما ایمیل بگیرید، می‌توانید از پیوند پایین همین پیام "
               "تنظیماتتان را تغییر دهید.")]),
        ("We're still here for you", [
            _h("Come back and see us"),
            _t(f"{EN_HI}, we know life gets busy. We just wanted to say we're still here, "
               "and whenever you come back your order will get the same care as always."),
            _t("If you'd rather not hear from us, you can change that with the link at the "
               "bottom of this e-mail.")])),
    # G6: replenishment or service reminder by SMS (a phone task follows without an answer).
    "replenish_sms": {
        "channel": "sms", "name": {"fa": "یادآوری تمدید یا سرویس (پیامک)",
                                   "en": "Refill or service reminder (SMS)"},
        "fa": {"text": f"{FA_DEAR}، سلام. طبق خریدهای قبلی‌تان، وقت تهیهٔ دوباره یا سرویس "
                       "رسیده است. برای سفارش یا هر پرسشی، همین پیامک را پاسخ دهید."},
        "en": {"text": f"{EN_HI}, going by your past orders it's time for a refill or a "
                       "service. Reply to this text to order or to ask us anything."}},
    # G7: the same news again, with a new subject, to those who did not open it.
    "resend_1": _mail(
        "ارسال دوباره: پیام اصلی", "Resend: the message",
        ("تازه‌های این هفته برای شما", [
            _h("تازه‌های این هفته"),
            _t(f"{FA_DEAR}، این هفته چند کالای تازه به فروشگاه اضافه شده و چند پیشنهاد ویژه "
               "هم داریم. این متن را با خبرهای خودتان جایگزین کنید."),
            _cross("انتخاب‌هایی برای شما:")]),
        ("This week's news for you", [
            _h("What's new this week"),
            _t(f"{EN_HI}, a few new products arrived this week, along with some special "
               "offers. Replace this text with your own news."),
            _cross("Picked for you:")])),
    "resend_2": _mail(
        "ارسال دوباره: با عنوان تازه", "Resend: with a new subject",
        (f"{FA_DEAR}، این را از دست ندهید", [
            _h("تازه‌های این هفته"),
            _t(f"{FA_DEAR}، این هفته چند کالای تازه به فروشگاه اضافه شده و چند پیشنهاد ویژه "
               "هم داریم. این متن را با خبرهای خودتان جایگزین کنید."),
            _cross("انتخاب‌هایی برای شما:")]),
        ("Don't miss this, {{ first_name or \"friend\" }}", [
            _h("What's new this week"),
            _t(f"{EN_HI}, a few new products arrived this week, along with some special "
               "offers. Replace this text with your own news."),
            _cross("Picked for you:")])),
    # G8: the next message chosen by what the person did with the first.
    "response_intro": _mail(
        "بر اساس پاسخ: پیام نخست", "By response: first message",
        ("پیشنهادی که برایتان کنار گذاشته‌ایم", [
            _h("یک پیشنهاد ویژه"),
            _t(f"{FA_DEAR}، پیشنهاد این فصل ما را ببینید. این متن را با پیشنهاد خودتان و "
               "پیوندی به آن جایگزین کنید."),
            _cross("پیشنهادهای ما برای شما:")]),
        ("An offer we've set aside for you", [
            _h("A special offer"),
            _t(f"{EN_HI}, take a look at this season's offer. Replace this text with your "
               "own offer and a link to it."),
            _cross("Our suggestions for you:")])),
    "response_clicked": _mail(
        "بر اساس پاسخ: برای کسانی که کلیک کردند", "By response: for those who clicked",
        ("بیشتر دربارهٔ آنچه دیدید", [
            _h("چون به این پیشنهاد علاقه نشان دادید"),
            _t(f"{FA_DEAR}، دیدیم پیشنهاد ما را نگاه کردید. جزئیات بیشتر و چند گزینهٔ نزدیک "
               "به آن را اینجا گذاشته‌ایم. اگر سؤالی دارید، به همین ایمیل پاسخ دهید."),
            _cross("شاید این‌ها هم به کارتان بیاید:")]),
        ("More about what you looked at", [
            _h("Since you were interested"),
            _t(f"{EN_HI}, we saw you had a look at our offer, so here are more details and "
               "a few close alternatives. Any questions? Just reply to this e-mail."),
            _cross("These might suit you too:")])),
    "response_opened": _mail(
        "بر اساس پاسخ: برای کسانی که فقط باز کردند", "By response: for those who opened",
        ("خلاصهٔ پیشنهاد در یک نگاه", [
            _h("در یک نگاه"),
            _t(f"{FA_DEAR}، اگر فرصت نکردید پیشنهاد ما را کامل ببینید، خلاصه‌اش این است: "
               "این متن را با خلاصهٔ کوتاه پیشنهاد خودتان جایگزین کنید.")]),
        ("The offer at a glance", [
            _h("At a glance"),
            _t(f"{EN_HI}, in case you didn't have time to look at our offer properly, here it "
               "is in short: replace this text with a short version of your offer.")])),
    # G9: a monthly personal letter for six months after the first order.
    "monthly_letter": _mail(
        "نامهٔ ماهانه پس از نخستین خرید", "Monthly letter after the first order",
        (f"{FA_DEAR}، نامهٔ این ماه برای شما", [
            _h("نامهٔ این ماه"),
            _t(f"{FA_DEAR}، ماه دیگری گذشت و خواستیم حالتان را بپرسیم. این ماه نکته‌ای "
               "دربارهٔ نگهداری و استفادهٔ بهتر از خریدتان داریم و چند پیشنهاد که بر اساس "
               "سلیقهٔ خودتان انتخاب شده است."),
            _cross("این ماه برای شما انتخاب کرده‌ایم:"),
            _t("اگر دوست دارید موضوع خاصی را در نامهٔ بعد بخوانید، به همین ایمیل پاسخ "
               "دهید.")]),
        ("Your letter for this month, {{ first_name or \"friend\" }}", [
            _h("This month's letter"),
            _t(f"{EN_HI}, another month has gone by and we wanted to see how you're doing. "
               "This month we have a tip on getting the most out of what you bought, and a "
               "few suggestions chosen to suit your taste."),
            _cross("Chosen for you this month:"),
            _t("Is there something you'd like to read about next time? Reply and tell "
               "us.")])),
    # A birthday greeting; the coupon block shows only with the contact's own code.
    "birthday": _mail(
        "تبریک تولد", "Birthday greeting",
        (f"{FA_DEAR}، تولدتان مبارک!", [
            _h("تولدتان مبارک!"),
            _t(f"{FA_DEAR}، امروز روز شماست. از طرف همهٔ ما بهترین آرزوها را برایتان داریم؛ "
               "سالی پر از سلامتی، شادی و روزهای خوب."),
            {"type": "coupon", "text": "به همین مناسبت، هدیهٔ کوچکی برایتان کنار گذاشته‌ایم. "
                                       "هنگام خرید بعدی این کد را وارد کنید:"},
            _t("با مهر،\nهمراهان شما")]),
        ("Happy birthday, {{ first_name or \"friend\" }}!", [
            _h("Happy birthday!"),
            _t(f"{EN_HI}, today is your day. All of us wish you a wonderful year full of "
               "health, happiness and good days."),
            {"type": "coupon", "text": "To celebrate, we've set aside a small gift for you. "
                                       "Use this code on your next order:"},
            _t("With warm wishes,\nThe team")])),
    # Re-permission: one year without a human open or click.
    "re_permission": _mail(
        "تأیید دوباره: هنوز مایلید از ما بشنوید؟", "Re-permission: still want to hear from us?",
        ("هنوز مایلید از ما خبر داشته باشید؟", [
            _h("هنوز مایلید از ما بشنوید؟"),
            _t(f"{FA_DEAR}، مدتی است پیام‌های ما را باز نکرده‌اید. نمی‌خواهیم ایمیل‌هایی "
               "بفرستیم که به کارتان نمی‌آید."),
            _t("اگر هنوز مایلید از ما خبر داشته باشید، همین که این پیام را باز کرده‌اید "
               "کافی است. اگر می‌خواهید موضوع‌ها یا تعداد پیام‌ها را تغییر دهید، یا دیگر "
               "ایمیلی نگیرید، از دکمهٔ زیر استفاده کنید."),
            {"type": "button", "label": "تنظیم یا لغو پیام‌ها", "href": "{{ preferences_url }}"},
            _t("سپاس که تا امروز همراه ما بوده‌اید.")]),
        ("Do you still want to hear from us?", [
            _h("Still want to hear from us?"),
            _t(f"{EN_HI}, you haven't opened our e-mails for a while, and we don't want to "
               "send you messages that aren't useful to you."),
            _t("If you'd still like to hear from us, opening this e-mail is enough. To "
               "change the topics or how often we write, or to stop our e-mails, use the "
               "button below."),
            {"type": "button", "label": "Change or stop my e-mails",
             "href": "{{ preferences_url }}"},
            _t("Thank you for being with us.")])),
}

# Staff tasks' titles (G6), by language: data of the definition, as the templates are.
TASKS: dict[str, dict[str, str]] = {
    "call": {"fa": "تماس: پاسخی به یادآوری تمدید یا سرویس نداد",
             "en": "Call: no answer to the refill or service reminder"},
    "reply": {"fa": "پاسخ پیامک مشتری به یادآوری تمدید یا سرویس را پیگیری کنید",
              "en": "Follow up their SMS reply to the refill or service reminder"},
}

# The re-permission segment's name by language.
SEGMENTS: dict[str, dict[str, str]] = {
    "silent_year": {"fa": "یک سال بی‌پاسخ به ایمیل", "en": "Silent for a year on e-mail"},
}
