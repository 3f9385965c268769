"""TenantAPIView: authentication stays on unless declared public; get_tenant_object answers 404 across tenants."""

import pytest
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory, force_authenticate

from accounts.api import TenantAPIView
from webhooks import services
from webhooks.models import WebhookEndpoint


class EndpointUrlView(TenantAPIView):
    required_scopes = {"GET": "webhooks"}

    def get(self, request, endpoint_id):
        return Response({"url": self.get_tenant_object(WebhookEndpoint, pk=endpoint_id).url})


def call(api_key, endpoint_id):
    request = APIRequestFactory().get("/x/")
    force_authenticate(request, token=api_key)
    response = EndpointUrlView.as_view()(request, endpoint_id=endpoint_id)
    response.render()
    return response


def test_get_tenant_object_finds_own_and_hides_foreign_and_malformed(
    api_key, organization, other_organization, settings
):
    settings.WEBHOOKS_ALLOW_HTTP_LOCALHOST = True
    mine = services.webhook_endpoint_create(organization=organization, url="http://127.0.0.1:9/mine")
    theirs = services.webhook_endpoint_create(organization=other_organization, url="http://127.0.0.1:9/theirs")
    assert call(api_key, mine.pk).data == {"url": mine.url}
    for foreign_or_malformed in (theirs.pk, "not-a-uuid"):
        response = call(api_key, foreign_or_malformed)
        assert response.status_code == 404 and response.data["error"]["code"] == "not_found"


def test_a_subclass_cannot_drop_authentication_without_saying_public():
    with pytest.raises(TypeError, match="public = True"):

        class Careless(TenantAPIView):
            permission_classes = []

    class Deliberate(TenantAPIView):
        public = True
        permission_classes = [AllowAny]
        required_scopes = {"GET": None}

        def get(self, request):
            return Response({})

    assert Deliberate.public
