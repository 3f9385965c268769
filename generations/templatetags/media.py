"""`{% media_url field_file %}`: a signed, expiring link to a stored file, issued to the viewing member."""

from django import template

from generations.media_links import member_link

register = template.Library()


@register.simple_tag(takes_context=True)
def media_url(context, field_file) -> str:
    """Empty when there is no file or nobody to issue the link to (logged out, no active organization)."""
    membership = getattr(context.get("request"), "membership", None)
    if not field_file or membership is None:
        return ""
    return member_link(name=field_file.name, membership=membership).path
