from django import template

from bookings.quarantine.queries import pending_counts_by_agency

register = template.Library()


@register.simple_tag(takes_context=True)
def quarantine_pending_counts(context):
    """Pending quarantine entries per agency of the signed-in user, for the admin index."""
    return pending_counts_by_agency(context["request"].user)
