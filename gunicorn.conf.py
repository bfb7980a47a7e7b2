"""gunicorn's settings, read from the working directory wherever gunicorn serves Duly: the Docker
image, docker-compose and ``make bench`` (which measures this configuration).

Sync workers, gunicorn's documented ``2 × cores + 1``, each answering one request at a time, behind
the load balancer or proxy that buffers slow clients (gunicorn's documented deployment for sync
workers; see the README's production section). Measured on two cores with webhook deliveries
(``webhooks.ingestion``):

* threads share their process's GIL, and after every database or Redis round trip a thread waits
  for the one computing: gthread 2 processes × 4 threads answered 229 requests/s with the processes
  half idle, and keep-alive pins each client connection to one process (gthread 6 × 1: 245/s);
* once a delivery took three round trips instead of four (its account remembered), six sync processes
  fell behind fewer: in one sitting, two answered 530–543/s, three 440–686, four 540–576, five
  474–683 and six 476–503. More processes than that only add switching between them.
"""

import os

workers = int(os.environ.get("WEB_CONCURRENCY") or 2 * (os.cpu_count() or 1) + 1)
worker_class = "sync"
timeout = 60
