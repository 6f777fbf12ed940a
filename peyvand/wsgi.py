"""WSGI entry point served by granian (`peyvand up`).

The open pixel and click redirect are answered by the tracking fast path before Django's
request machinery; everything else goes to Django.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peyvand.settings")

from peyvand.tracking.fastpath import wrap  # noqa: E402  (needs settings configured)

application = wrap(get_wsgi_application())
