"""The tenant's logo: a small PNG, JPEG or SVG, recognised by its own bytes."""

import base64

import pytest
from django.core.exceptions import ValidationError

from crm import services

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")
SVG = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'


class TestLogoType:
    @pytest.mark.parametrize(("data", "expected"), [
        (PNG, "image/png"), (b"\xff\xd8\xff\xe0" + b"\x00" * 20, "image/jpeg"), (SVG, "image/svg+xml"),
        (b"  <svg xmlns='http://www.w3.org/2000/svg'/>", "image/svg+xml"),
    ])
    def test_reads_the_format_from_the_bytes(self, data, expected):
        assert services.logo_type_of(data) == expected

    @pytest.mark.parametrize(("data", "message"), [
        (b"", "The file is empty."),
        (b"GIF89a" + b"\x00" * 10, "A logo is a PNG, JPEG or SVG image."),
        (PNG + b"\x00" * (256 * 1024), "A logo is at most 256 KB."),
    ])
    def test_refuses_what_is_not_a_small_image(self, data, message):
        with pytest.raises(ValidationError) as refused:
            services.logo_type_of(data)

        assert refused.value.message_dict == {"logo": [message]}
