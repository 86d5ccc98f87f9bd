from django.urls import path, register_converter

from bookings.intake import api, views


class ProviderIdConverter:
    """An id from a broker system: one path segment that fits the 200-character id fields.
    A NUL byte, which PostgreSQL refuses in text, falls through to the JSON 404."""

    regex = r"[^/\x00]{1,200}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(ProviderIdConverter, "provider_id")

urlpatterns = [
    path("book/<uuid:public_id>/", views.booking_page, name="booking-page"),
    path(
        "book/<uuid:public_id>/confirmed/<str:token>/",
        views.booking_confirmed,
        name="booking-confirmed",
    ),
    path("api/v1/openapi.json", api.openapi, name="api-openapi"),
    path("api/v1/viewings", api.viewing_list, name="api-viewing-list"),
    path(
        "api/v1/viewings/<provider_id:viewing_id>/bookings",
        api.booking_create,
        name="api-booking-create",
    ),
    path("api/v1/bookings/<int:booking_id>", api.booking_status, name="api-booking-status"),
    path("api/v1/<path:path>", api.unknown_route),
]
