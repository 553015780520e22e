"""Every admin of a tenant-owned model, with both tenants' rows present, shows and edits only the
signed-in staff member's tenant.

For each such admin, an owner of tenant A (who holds every tenant capability):
- sees a changelist of A's rows only, never empty, with nothing of B's in the page;
- opens A's row, and (where the admin edits at all) saves it back unchanged, successfully;
- is sent away from B's row (change, history, delete) with "does not exist", and POSTing A's
  valid form data to B's row, or deleting it, changes nothing of B's, field for field;
- gets an add form (where adding is allowed) that offers nothing of B's.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib import admin
from django.forms.models import model_to_dict
from django.urls import reverse

from oms.core.models import TenantOwned
from tests.worlds import admin_form_data as form_data
from tests.worlds import build_world

TENANT_ADMINS = sorted(
    (model for model in admin.site._registry if issubclass(model, TenantOwned)), key=lambda m: m._meta.label
)


def snapshot(row: Any) -> dict[str, Any]:
    return model_to_dict(type(row)._base_manager.get(pk=row.pk), fields=[f.name for f in row._meta.fields])


@pytest.fixture
def both_worlds(tenant_a, tenant_b):
    return build_world(tenant_a, "ACME"), build_world(tenant_b, "GLOBEX")


def test_every_tenant_owned_admin_is_swept():
    assert len(TENANT_ADMINS) >= 14, [m._meta.label for m in TENANT_ADMINS]


@pytest.mark.parametrize("model", TENANT_ADMINS, ids=lambda m: m._meta.label)
def test_changelist_shows_only_own_rows(client, tenant_a, tenant_b, both_worlds, model):
    acme, _ = both_worlds
    client.force_login(acme["owner"])
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    response = client.get(url)
    assert response.status_code == 200, url
    rows = list(response.context["cl"].result_list)
    assert rows, f"{url} lists none of A's rows"
    assert {row.tenant_id for row in rows} == {tenant_a.pk}, url
    assert "globex" not in response.content.decode().lower(), url


@pytest.mark.parametrize("model", TENANT_ADMINS, ids=lambda m: m._meta.label)
def test_own_rows_open_and_save_other_tenants_rows_do_not(client, tenant_a, tenant_b, both_worlds, model):
    acme, _ = both_worlds
    model_admin = admin.site._registry[model]
    mine = model._base_manager.filter(tenant=tenant_a).order_by("pk").first()
    theirs = model._base_manager.filter(tenant=tenant_b).order_by("pk").first()
    assert mine is not None and theirs is not None, f"the worlds have no {model._meta.label} rows"
    info = f"admin:{model._meta.app_label}_{model._meta.model_name}"
    client.force_login(acme["owner"])

    own_page = client.get(reverse(f"{info}_change", args=[mine.pk]))
    assert own_page.status_code == 200
    assert "globex" not in own_page.content.decode().lower()
    data = form_data(own_page)
    if own_page.context["has_change_permission"]:
        saved = client.post(reverse(f"{info}_change", args=[mine.pk]), data)
        assert saved.status_code == 302, saved.context and saved.context["adminform"].form.errors
        assert saved["Location"].startswith(reverse(f"{info}_changelist"))  # "changed successfully"
        assert type(mine)._base_manager.get(pk=mine.pk).tenant_id == tenant_a.pk

    before = snapshot(theirs)
    index = reverse("admin:index")
    for page in ("change", "history", "delete"):
        response = client.get(reverse(f"{info}_{page}", args=[theirs.pk]), follow=True)
        body = response.content.decode()
        assert "globex" not in body.lower(), page
        if response.status_code != 403:  # 403: this admin deletes nothing, anyone's
            assert response.redirect_chain == [(index, 302)], page
            assert "doesn’t exist" in body, page
    for page, body in (("change", data), ("delete", {"post": "yes"})):
        response = client.post(reverse(f"{info}_{page}", args=[theirs.pk]), body)
        assert response.status_code == 403 or response["Location"] == index, page
    assert snapshot(theirs) == before

    if model_admin.has_add_permission(own_page.wsgi_request):
        add = client.get(reverse(f"{info}_add"))
        assert add.status_code == 200
        assert "globex" not in add.content.decode().lower()
