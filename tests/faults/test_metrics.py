"""The metrics page under uWSGI, as ``bin/serve`` runs it: the requests every web process served are
counted together (``PROMETHEUS_MULTIPROC_DIR``), and only the token's bearer reads them."""

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from django.conf import settings
from prometheus_client.parser import text_string_to_metric_families

from tests.faults.processes import WebServer

pytestmark = pytest.mark.worker
TOKEN = "metrics-test-token"


def test_every_web_process_s_requests_are_counted_together(transactional_db):
    web = WebServer(settings.REDIS_URL, workers=2, DULY_METRICS_TOKEN=TOKEN).start()
    try:
        before = served(web)
        with ThreadPoolExecutor(max_workers=4) as pool:
            codes = list(pool.map(lambda _: httpx.get(f"{web.url}/health/live/", timeout=10).status_code, range(20)))
        after = served(web)
        refused = httpx.get(f"{web.url}/metrics/", timeout=10).status_code
    finally:
        web.stop()

    assert codes == [200] * 20
    assert after - before == 20
    assert refused == 401


def served(web) -> float:
    """How many ``/health/live/`` requests the server's metrics say it served."""
    response = httpx.get(f"{web.url}/metrics/", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    response.raise_for_status()
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if (sample.name == "django_http_requests_latency_seconds_by_view_method_count"
                    and sample.labels == {"view": "health_live", "method": "GET"}):
                return sample.value
    return 0
