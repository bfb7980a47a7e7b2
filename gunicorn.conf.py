"""gunicorn's settings, read from the working directory wherever gunicorn serves Duly: the Docker
image, docker-compose and ``make bench`` (which measures this configuration).

Sync workers, three per core, each answering one request at a time, behind the load balancer or
proxy that buffers slow clients (gunicorn's documented deployment for sync workers; see the README's
production section). Measured on two cores with webhook deliveries (``webhooks.ingestion``), the
same code in one sitting (the README has the current figures):

* threads share their process's GIL, and after every database or Redis round trip a thread waits
  for the one computing: gthread 2 processes × 4 threads answered 229 requests/s with the processes
  half idle;
* keep-alive pins each client connection to one process, so a busy connection waits behind another
  while processes idle: gthread 6 × 1 answered 245/s;
* 6 sync processes answered 364/s, p99 39 ms, with the cores busy.
"""

import os

workers = int(os.environ.get("WEB_CONCURRENCY") or 3 * (os.cpu_count() or 1))
worker_class = "sync"
timeout = 60
