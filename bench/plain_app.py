"""The baseline for the portal bench's throughput: the OneWindow app with one extra page that renders the same base
layout (templates/base.html, same before/after-request hooks, same headers) and runs no query.

    gunicorn --workers 2 --bind 127.0.0.1:8001 --pythonpath bench plain_app:app      # GET /_bench/plain
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # the project is installed editable; this only helps a bare checkout
    sys.path.insert(0, str(REPO))

from flask import render_template_string  # noqa: E402

from app import create_app  # noqa: E402

PLAIN_PATH = "/_bench/plain"
PLAIN_TEMPLATE = """{% extends "base.html" %}
{% block heading %}{{ _("My services") }}{% endblock %}
{% block content %}
<h1>{{ self.heading() }}</h1>
<p class="lead">{{ _("You have no cases yet.") }}
  <a href="{{ url_for('catalogue.index') }}">{{ _("Find a service to apply for") }}</a></p>
{% endblock %}"""


def add_plain_page(flask_app):
    """Register the query-free page (before the app serves its first request)."""

    @flask_app.route(PLAIN_PATH)
    def bench_plain():
        return render_template_string(PLAIN_TEMPLATE)

    return flask_app


app = add_plain_page(create_app())
