"""Tags on parcels: a foreign key, a nullable foreign key and a many-to-many, all tenant-owned."""

from __future__ import annotations

from django.db import models

from oms.core.models import TenantOwned


class ProbeTag(TenantOwned):
    name = models.CharField(max_length=50)


class ProbeParcel(TenantOwned):
    label = models.CharField(max_length=50)
    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="+")
    replaces = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    tags = models.ManyToManyField(ProbeTag, through="ProbeParcelTag", related_name="parcels")


class ProbeParcelTag(TenantOwned):
    parcel = models.ForeignKey(ProbeParcel, on_delete=models.CASCADE)
    tag = models.ForeignKey(ProbeTag, on_delete=models.CASCADE)
