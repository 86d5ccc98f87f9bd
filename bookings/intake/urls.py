from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt

from bookings.intake import api, views

urlpatterns = [
    path("book/<uuid:public_id>/", views.booking_page, name="booking-page"),
    # Any other viewing link (cut short, mistyped, an old confirmation page) is not known.
    re_path(r"^book/", views.unknown_viewing_link),
    path("api/v1/openapi.json", api.openapi, name="api-openapi"),
    path("api/v1/", include(api.intake_api.urls[0])),
    path("api/v1/<path:path>", csrf_exempt(api.unknown_route)),
]
