from django import template

from bookings import cockpit

register = template.Library()


@register.simple_tag(takes_context=True)
def what_needs_you(context):
    """The admin start page's counts per agency and its 14-day chart (bookings/cockpit.py)."""
    user = context["request"].user
    days = cockpit.bookings_by_day(user)
    return {
        "agencies": cockpit.needs_attention(user),
        "bars": cockpit.chart_bars(days),
        "scale": cockpit.chart_scale(days),
        "outcomes": cockpit.OUTCOMES,
        "chart_height": cockpit.CHART_HEIGHT,
        "chart_width": cockpit.AXIS_WIDTH + cockpit.CHART_DAYS * cockpit.BAR_STEP,
        "plot_width": cockpit.CHART_DAYS * cockpit.BAR_STEP,
        "axis_width": cockpit.AXIS_WIDTH,
        "bar_width": cockpit.BAR_WIDTH,
    }
