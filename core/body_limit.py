"""A request whose declared body exceeds ``DULY_MAX_REQUEST_BYTES`` is answered 413 before any of it is
read: Django limits form fields (``DATA_UPLOAD_MAX_MEMORY_SIZE``) but streams files of any size to disk."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.utils.translation import gettext as _


class BodyLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        limit = settings.DULY_MAX_REQUEST_BYTES
        if declared > limit:
            message = _("The request is %(size)s MB; at most %(limit)s MB is accepted.") % {
                "size": round(declared / 1_000_000, 1), "limit": limit // 1_000_000}
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": message}, status=413)
            return HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
