from django import template

from orders import stats

register = template.Library()

CHART_WIDTH, CHART_HEIGHT, BAR_GAP = 600, 140, 2  # px of the SVG drawing


@register.inclusion_tag("admin/dashboard.html", takes_context=True)
def order_dashboard(context):
    if not stats.may_see_dashboard(context["request"].user):
        return {"allowed": False}
    data = stats.dashboard()
    days = data["orders_per_day"]
    peak = max((day["orders"] for day in days), default=0) or 1
    bar_width = CHART_WIDTH / len(days)
    bars = [
        {"x": round(index * bar_width, 1), "width": round(bar_width - BAR_GAP, 1),
         "height": round(CHART_HEIGHT * day["orders"] / peak, 1),
         "y": round(CHART_HEIGHT - CHART_HEIGHT * day["orders"] / peak, 1), **day}
        for index, day in enumerate(days)
    ]
    return {"allowed": True, "data": data, "bars": bars, "peak": peak, "chart_width": CHART_WIDTH,
            "chart_height": CHART_HEIGHT}
