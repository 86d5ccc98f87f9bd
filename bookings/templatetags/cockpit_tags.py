from django import template

from bookings import cockpit

register = template.Library()


@register.simple_tag(takes_context=True)
def what_needs_you(context):
    """The admin start page's counts per agency and its 14-day chart (bookings/cockpit.py)."""
    user = context["request"].user
    return {
        "agencies": cockpit.needs_attention(user),
        "bars": cockpit.chart_bars(cockpit.bookings_by_day(user)),
        "outcomes": cockpit.OUTCOMES,
        "chart_height": cockpit.CHART_HEIGHT,
        "chart_width": cockpit.CHART_DAYS * cockpit.BAR_STEP,
        "bar_width": cockpit.BAR_WIDTH,
    }
