from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from oms.core.api import TenantApiMixin
from oms.core.permissions import requires
from oms.core.roles import Capability


class MeApi(TenantApiMixin, APIView):
    """Who this key or session acts as: lets a storefront check its key."""

    permission_classes = [requires(Capability.OWN_ACCOUNT)]

    class OutputSerializer(serializers.Serializer):
        tenant = serializers.CharField()
        tenant_name = serializers.CharField()
        role = serializers.CharField()
        actor = serializers.CharField()

    @extend_schema(responses=OutputSerializer)
    def get(self, request: Request) -> Response:
        user: Any = request.user
        actor = getattr(user, "actor_label", None) or f"user:{user.get_username()}"
        return Response(
            self.OutputSerializer(
                {
                    "tenant": self.tenant.slug,
                    "tenant_name": self.tenant.name,
                    "role": request.role,
                    "actor": actor,
                }
            ).data
        )
