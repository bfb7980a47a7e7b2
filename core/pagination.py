"""Pages of lists, read from the query string (``?page=``): anything out of range gives the nearest page."""

from __future__ import annotations

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.functional import cached_property


def page_of(request: HttpRequest, rows, per_page: int) -> Page:
    """The page of ``rows`` the query string asks for."""
    return Paginator(rows, per_page).get_page(request.GET.get("page"))


EXACT_COUNT_LIMIT = 1000


class CappedPaginator(Paginator):
    """Pages of a list that may be very long (a tenant's whole ledger), in three cheap queries.

    * The total is counted exactly only up to ``limit`` rows past the start of the page asked for
      (``SELECT count(*) FROM (… LIMIT n)``); past that the pager says "more than n" and offers the
      next page, so the cost of a page does not grow with the tenant's rows.
    * The page's ids are read alone, ordered, off the list's index; then its rows, with what they
      show joined, by those ids. Joined in one query, the planner multiplies the tenant condition
      that row-level security adds to every joined table and, expecting a handful of rows, sorts
      the whole tenant's list instead of reading the first rows off the index.
    """

    def __init__(self, rows: QuerySet, per_page: int, *, number=1, limit: int = EXACT_COUNT_LIMIT,
                 known_count: int | None = None):
        super().__init__(rows, per_page)
        try:
            first_row = (max(int(number), 1) - 1) * per_page
        except (TypeError, ValueError):
            first_row = 0
        self.count_limit = first_row + limit
        if known_count is not None:  # counted elsewhere (a report's totals): exact, and no query
            self.count_limit = max(self.count_limit, known_count)
            self.__dict__["count"] = known_count

    @cached_property
    def count(self) -> int:
        return self.object_list.order_by().values("pk")[: self.count_limit + 1].count()

    @property
    def count_is_capped(self) -> bool:
        """Whether there are more rows than ``count`` says (``count`` then is one past the limit)."""
        return self.count > self.count_limit

    def page(self, number) -> Page:
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        ids = list(self.object_list.values_list("pk", flat=True)[bottom:top])
        rows = list(self.object_list.filter(pk__in=ids)) if ids else []
        return self._get_page(rows, number, self)


def capped_page(request: HttpRequest, rows: QuerySet, per_page: int, *, known_count: int | None = None) -> Page:
    """The page the query string asks for (``?page=``) of a very long list: anything out of range gives
    the nearest page, and the count stops at ``EXACT_COUNT_LIMIT`` rows past it, unless the caller
    knows it (``known_count``)."""
    number = request.GET.get("page")
    return CappedPaginator(rows, per_page, number=number, limit=EXACT_COUNT_LIMIT,
                           known_count=known_count).get_page(number)
