"""Navigation tags: a link that appears only once its page exists, marked when it is the current page."""

from django import template
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html

register = template.Library()


@register.simple_tag(takes_context=True)
def nav_link(context, url_name: str, label: str, exact: bool = False, exclude: str = "") -> str:
    """`<a>` to `url_name`, or nothing while no route has that name (pages other engineers add later).

    It is marked current on its own page and, unless `exact`, on the pages below it, except those below the
    route named `exclude` (a sibling entry of the menu that lives under this one).
    """
    try:
        url = reverse(url_name)
    except NoReverseMatch:
        return ""
    request = context.get("request")
    path = request.path if request is not None else ""
    current = path == url or (not exact and path.startswith(url) and not _is_under(path, exclude))
    if current:
        return format_html('<a class="nav-link active" href="{}" aria-current="page">{}</a>', url, label)
    return format_html('<a class="nav-link" href="{}">{}</a>', url, label)


def _is_under(path: str, url_name: str) -> bool:
    try:
        return bool(url_name) and path.startswith(reverse(url_name))
    except NoReverseMatch:
        return False
