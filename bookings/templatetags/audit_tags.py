"""The admin log as the audit trail words it (bookings/audit.py), for the History pages."""

from django import template

from bookings import audit

register = template.Library()


@register.filter
def audit_description(entry) -> str:
    return audit.describe(entry)


@register.filter
def audit_who(user) -> str:
    return audit.who(user)
