"""Every model's title (`__str__`, what the admin shows in titles, breadcrumbs, links and
messages) reads in the merchant's words: codes and labels, never bare ids like "4@1" or Django's
"Model object (3)". Walks every tenant-owned model, with a row of each from the test world."""

from __future__ import annotations

import re

import pytest
from django.apps import apps

from oms.core.models import TenantOwned
from tests.worlds import build_world

MODELS = sorted(
    (
        m
        for m in apps.get_models()
        if issubclass(m, TenantOwned) and not m._meta.abstract and not m.__module__.startswith("tests.")
    ),
    key=lambda m: m._meta.label,
)
# A number glued to "@", an "n/m × id" fraction, Django's default, or a raw state code in brackets.
UNREADABLE = [
    (re.compile(r"\d+\s*@\s*\d+"), "ids around an @"),
    (re.compile(r"\d+/\d+ × \d+$"), "a fraction of an id"),
    (re.compile(r" object \(\d+\)$"), "Django's default title"),
    (re.compile(r"\([a-z]+_[a-z_]+\)"), "a raw state code"),
]


def test_every_model_defines_its_own_title():
    missing = [m._meta.label for m in MODELS if "__str__" not in vars(m)]
    assert missing == []


@pytest.fixture
def world(tenant_a):
    return build_world(tenant_a, "ACME")


@pytest.mark.django_db
def test_every_title_in_the_world_reads_in_words(world, tenant_a):
    problems, seen = [], 0
    for model in MODELS:
        for row in model._base_manager.filter(tenant=tenant_a).order_by("pk")[:3]:
            seen += 1
            title = str(row)
            for pattern, what in UNREADABLE:
                if pattern.search(title):
                    problems.append(f"{model._meta.label}: {title!r} shows {what}")
            if not title.strip():
                problems.append(f"{model._meta.label}: an empty title")
    assert seen > len(MODELS) // 2  # the world has rows of most models
    assert problems == []
