"""The API's own answers: an oversized body, and its documentation page."""

import json

import pytest
from django.conf import settings
from django_scopes import scopes_disabled

from finance.models import FinancialTransaction


@pytest.mark.django_db
class TestOversizedBodies:
    def test_a_body_past_the_limit_is_413_in_json_and_nothing_is_saved(self, api_client, customer):
        notes = "x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        body = json.dumps({"account": 1, "classification": "invoice", "notes": notes})

        response = api_client.post("/api/v1/transactions", body, content_type="application/json")

        assert response.status_code == 413
        assert response["Content-Type"] == "application/json; charset=utf-8"
        assert response.json() == {
            "detail": f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} bytes."}
        with scopes_disabled():
            assert FinancialTransaction.objects.count() == 0


@pytest.mark.django_db
class TestTheDocsPage:
    def test_the_document_has_each_key_once_so_swagger_can_read_it(self, client):
        duplicated = []

        def pairs(items):
            keys = [key for key, _ in items]
            duplicated.extend(key for key in set(keys) if keys.count(key) > 1)
            return dict(items)

        json.loads(client.get("/api/v1/openapi.json").content, object_pairs_hook=pairs)

        assert duplicated == []

    def test_loads_swagger_from_duly_itself(self, client):
        page = client.get("/api/v1/docs").content.decode()

        assert '<script src="/static/ninja/swagger-ui-bundle.js"></script>' in page
        assert "cdn" not in page.lower()
