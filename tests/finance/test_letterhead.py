"""The letterhead of printouts: the tenant's logo inline and its address, in HTML and in the PDF."""

import base64
import io

import pypdf
import pytest
from django.urls import reverse

from crm import services
from crm.models import Tenant
from tests.crm.test_tenant_logo import PNG, SVG
from tests.finance.test_printouts import invoice, printout_url  # noqa: F401


@pytest.mark.django_db
class TestLetterhead:
    def test_the_printout_shows_the_logo_inline_and_the_address(self, invoice, staff_client, tenant):  # noqa: F811
        Tenant.objects.filter(pk=tenant.pk).update(address="1 Harbour Row\nBristol BS1 4RN")
        services.set_tenant_logo(tenant=tenant, data=PNG)

        page = staff_client.get(printout_url(invoice)).content.decode()
        pdf = staff_client.get(printout_url(invoice, "?format=pdf")).content

        assert f'<img class="logo" src="data:image/png;base64,{base64.b64encode(PNG).decode()}"' in page
        assert "1 Harbour Row<br>Bristol BS1 4RN" in page
        text = "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages)
        assert "1 Harbour Row" in text and "Bristol BS1 4RN" in text

    def test_removing_the_logo_leaves_no_image(self, invoice, staff_client, tenant):  # noqa: F811
        services.set_tenant_logo(tenant=tenant, data=SVG)
        services.set_tenant_logo(tenant=tenant, data=None)

        page = staff_client.get(printout_url(invoice)).content.decode()

        assert Tenant.objects.get(pk=tenant.pk).logo_type == ""
        assert 'class="logo"' not in page

    def test_support_upload_a_logo_in_the_admin(self, support_client, tenant):
        url = reverse("admin:crm_tenant_change", args=[tenant.pk])
        form = support_client.get(url).context["adminform"].form
        data = {name: form.initial.get(name) or "" for name in form.fields if name not in ("logo_file", "remove_logo")}
        data |= {"country": "GB", "address": "1 Harbour Row", "logo_file": io.BytesIO(PNG)}
        data["logo_file"].name = "logo.png"

        response = support_client.post(url, data)

        assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
        saved = Tenant.objects.get(pk=tenant.pk)
        assert (saved.address, saved.logo_type, bytes(saved.logo)) == ("1 Harbour Row", "image/png", PNG)
