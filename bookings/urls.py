from django.urls import path

from bookings import api, views

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
        "api/v1/viewings/<str:viewing_id>/bookings",
        api.booking_create,
        name="api-booking-create",
    ),
    path("api/v1/bookings/<int:booking_id>", api.booking_status, name="api-booking-status"),
    path("api/v1/<path:path>", api.unknown_route),
]
